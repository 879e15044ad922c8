import { checkWholeNumber } from '../util/check-option.js';

type Starter = () => void;

/**
 * Runs queued tasks with at most `concurrency` at once: the part of p-queue the scheduler uses
 * (`add`, `size`, `onSizeLessThan`, `clear`, `onIdle`), without its events, priorities and
 * timeouts, which cost ~10 µs of the main thread per prompt at thousands of prompts a second.
 */
export class TaskPool {
  readonly #concurrency: number;
  /** Queued tasks from `#head` on; the consumed front is dropped in batches. */
  #queue: Starter[] = [];
  #head = 0;
  #running = 0;
  #sizeWaiters: Array<{ readonly limit: number; readonly resolve: () => void }> = [];
  #idleWaiters: Array<() => void> = [];

  constructor(concurrency: number) {
    this.#concurrency = checkWholeNumber('concurrency', concurrency, 1);
  }

  /** Tasks waiting to start. */
  get size(): number {
    return this.#queue.length - this.#head;
  }

  /** Tasks running now. */
  get pending(): number {
    return this.#running;
  }

  /** Queues `task`; resolves or rejects as it does. Starts it at once when a place is free. */
  add<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push(() => {
        this.#running += 1;
        let settled: Promise<T>;
        try {
          settled = task();
        } catch (error) {
          settled = Promise.reject(error);
        }
        settled.then(
          (value) => {
            this.#finished();
            resolve(value);
          },
          (error: unknown) => {
            this.#finished();
            reject(error);
          },
        );
      });
      this.#startWhatFits();
    });
  }

  /** Resolves once fewer than `limit` tasks wait to start. */
  onSizeLessThan(limit: number): Promise<void> {
    if (this.size < limit) return Promise.resolve();
    return new Promise((resolve) => this.#sizeWaiters.push({ limit, resolve }));
  }

  /** Drops the tasks that have not started (their `add` promises stay pending). */
  clear(): void {
    this.#queue = [];
    this.#head = 0;
    this.#settleWaiters();
  }

  /** Resolves once nothing runs and nothing waits. */
  onIdle(): Promise<void> {
    if (this.#running === 0 && this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #finished(): void {
    this.#running -= 1;
    this.#startWhatFits();
  }

  #startWhatFits(): void {
    while (this.#running < this.#concurrency && this.#head < this.#queue.length) {
      const start = this.#queue[this.#head]!;
      this.#head += 1;
      start();
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#settleWaiters();
  }

  #settleWaiters(): void {
    if (this.#sizeWaiters.length > 0) {
      const size = this.size;
      const waiting = this.#sizeWaiters;
      this.#sizeWaiters = waiting.filter((waiter) => size >= waiter.limit);
      for (const waiter of waiting) if (size < waiter.limit) waiter.resolve();
    }
    if (this.#idleWaiters.length > 0 && this.#running === 0 && this.size === 0) {
      const idle = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of idle) resolve();
    }
  }
}
