/**
 * The deadline of one run (`--until`, `--for`) as a stop signal: it aborts at the deadline, or
 * when the caller's soft stop (Ctrl-C) does, so everything that watches the soft stop (the
 * scheduler's sending, the streaming reader) stops at the deadline the same way.
 */
export class RunDeadline {
  /** When the run stops sending (epoch ms). */
  readonly at: number;
  /** Aborts at the deadline or at the caller's soft stop, whichever comes first. */
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  #reached = false;

  /**
   * @param at the deadline, epoch ms (at most 2^31 - 1 ms ahead: `resolveDeadline` checks it)
   * @param softStop the caller's soft stop, followed as well
   * @param now the clock the delay is measured on. @default Date.now
   */
  constructor(at: number, softStop?: AbortSignal, now: () => number = Date.now) {
    this.at = at;
    this.signal = softStop === undefined ? this.#controller.signal : AbortSignal.any([softStop, this.#controller.signal]);
    this.#timer = setTimeout(() => {
      this.#reached = true;
      this.#controller.abort(new Error('deadline reached'));
    }, Math.max(0, at - now()));
    // The run keeps the process alive while it works; a finished run must not wait for the deadline.
    this.#timer.unref();
  }

  /** Whether the deadline itself (not a Ctrl-C) stopped the run. */
  get reached(): boolean {
    return this.#reached;
  }

  /** Ends the timer (the run finished first). */
  stop(): void {
    clearTimeout(this.#timer);
  }
}
