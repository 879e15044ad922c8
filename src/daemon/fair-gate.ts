import { checkWholeNumber } from '../util/check-option.js';

interface Waiter {
  readonly admit: () => void;
}

/**
 * Admits at most `capacity` requests to one model's server at once (its slots), and hands freed
 * slots to the clients that wait in turn, one request each: two runs on one model share its slots
 * whatever their own worker counts, and neither waits for the other to finish. Within a client,
 * requests are admitted in arrival order.
 */
export class FairGate {
  readonly #capacity: number;
  /** Waiting requests by client, clients in turn order: the next slot goes to the first. */
  readonly #queues = new Map<string, Waiter[]>();
  #busy = 0;

  constructor(capacity: number) {
    this.#capacity = checkWholeNumber('capacity', capacity, 1);
  }

  /** Requests admitted and not yet released. */
  get busy(): number {
    return this.#busy;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    let total = 0;
    for (const queue of this.#queues.values()) total += queue.length;
    return total;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Waits for a slot for `client`; resolves with the function that gives it back (once). When
   * `signal` aborts first (the client went away), rejects with its reason and takes no slot.
   */
  enter(client: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    if (this.#busy < this.#capacity && this.#queues.size === 0) return Promise.resolve(this.#admitOne());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.#admitOne());
        },
      };
      const onAbort = (): void => {
        const queue = this.#queues.get(client);
        const at = queue?.indexOf(waiter) ?? -1;
        if (queue === undefined || at < 0) return;
        queue.splice(at, 1);
        if (queue.length === 0) this.#queues.delete(client);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const queue = this.#queues.get(client);
      if (queue === undefined) this.#queues.set(client, [waiter]);
      else queue.push(waiter);
      this.#admitWaiting();
    });
  }

  #admitOne(): () => void {
    this.#busy += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#busy -= 1;
      this.#admitWaiting();
    };
  }

  /** Fills free slots from the waiting clients in turn: the client served goes to the back of the line. */
  #admitWaiting(): void {
    while (this.#busy < this.#capacity) {
      const next = this.#queues.entries().next();
      if (next.done === true) return;
      const [client, queue] = next.value;
      const waiter = queue.shift()!;
      this.#queues.delete(client);
      if (queue.length > 0) this.#queues.set(client, queue);
      waiter.admit();
    }
  }
}
