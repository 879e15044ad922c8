/**
 * Promises that resolve once a command's output contains a text: the `waitFor` of both CLI
 * helpers (spawned and in-process). Call `check()` whenever the output grows.
 */
export class OutputWaiters {
  readonly #output: () => string;
  #waiters: Array<{ readonly text: string | RegExp; readonly resolve: () => void }> = [];

  /** `output`: everything printed so far. */
  constructor(output: () => string) {
    this.#output = output;
  }

  /** Resolves the waiters whose text is now in the output. */
  check(): void {
    const all = this.#output();
    this.#waiters = this.#waiters.filter((waiter) => {
      const found = typeof waiter.text === 'string' ? all.includes(waiter.text) : waiter.text.test(all);
      if (found) waiter.resolve();
      return !found;
    });
  }

  /** Resolves once the output contains `text`; rejects with `ended()`'s message if `done` settles first. */
  waitFor(text: string | RegExp, done: Promise<unknown>, ended: () => string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ text, resolve });
      this.check();
      void done.then(() => reject(new Error(`${ended()} before printing ${String(text)}:\n${this.#output()}`)));
    });
  }
}
