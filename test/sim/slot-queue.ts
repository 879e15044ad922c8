/** A request waiting for a slot. `start` runs when it gets one. */
export interface SlotWaiter {
  start(): void;
  /** Set by `cancel`: the client left while waiting, so the slot goes to the next one. */
  cancelled?: boolean;
}

/**
 * Slots served in FIFO order without a bound on the queue, as llama-server does with more
 * requests than `--parallel`. The array is consumed from a moving head, because `shift()` on a
 * long queue would make every dequeue cost the queue's length.
 */
export class SlotQueue {
  readonly slots: number;
  #inService = 0;
  #waiting = 0;
  #queue: SlotWaiter[] = [];
  #head = 0;

  constructor(slots: number) {
    this.slots = slots;
  }

  /** Requests holding a slot now. */
  get inService(): number {
    return this.#inService;
  }

  /** Requests waiting for a slot now. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Starts the waiter now if a slot is free, else queues it. */
  enqueue(waiter: SlotWaiter): void {
    if (this.#inService < this.slots) {
      this.#inService++;
      waiter.start();
      return;
    }
    this.#waiting++;
    this.#queue.push(waiter);
  }

  /** Withdraws a waiter that has not started yet. */
  cancel(waiter: SlotWaiter): void {
    if (waiter.cancelled) return;
    waiter.cancelled = true;
    this.#waiting--;
  }

  /** Frees a slot and hands it to the oldest waiter still waiting. */
  release(): void {
    this.#inService--;
    while (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as SlotWaiter;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      if (next.cancelled) continue;
      this.#waiting--;
      this.#inService++;
      next.start();
      return;
    }
  }
}
