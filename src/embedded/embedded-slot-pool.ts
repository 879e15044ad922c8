/**
 * A fixed set of slots (one context sequence each) handed out first come, first served. Requests
 * beyond the slots wait in FIFO order, like llama-server's queue.
 */
export class EmbeddedSlotPool<T> {
  readonly #free: Array<{ readonly id: number; readonly value: T }> = [];
  readonly #busy = new Set<number>();
  readonly #waiting: Array<(slot: { readonly id: number; readonly value: T }) => void> = [];
  readonly #size: number;

  constructor(values: readonly T[]) {
    this.#size = values.length;
    values.forEach((value, id) => this.#free.push({ id, value }));
  }

  get size(): number {
    return this.#size;
  }

  isBusy(id: number): boolean {
    return this.#busy.has(id);
  }

  /** Waits for a free slot. Call `release` with the same slot when done, also on failure. */
  acquire(): Promise<{ readonly id: number; readonly value: T }> {
    const slot = this.#free.shift();
    if (slot !== undefined) {
      this.#busy.add(slot.id);
      return Promise.resolve(slot);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(slot: { readonly id: number; readonly value: T }): void {
    const next = this.#waiting.shift();
    if (next !== undefined) {
      next(slot);
      return;
    }
    this.#busy.delete(slot.id);
    this.#free.push(slot);
  }
}
