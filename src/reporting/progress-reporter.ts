import type { Writable } from 'node:stream';
import type { AppError } from '../errors.js';
import type { PromptItem } from '../prompts/prompt-item.js';
import type { SchedulerListener } from '../scheduler/scheduler-listener.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import { formatClock, formatCount } from './deadline-summary.js';
import { formatDuration } from './format-duration.js';

/**
 * Outcomes before the rate is trusted against the deadline: the first answers of a night come
 * after model loads and cold caches, and a warning from them would cry wolf.
 */
const MIN_OUTCOMES_FOR_FIT = 10;

export interface ProgressReporterOptions {
  /** Where progress goes (stderr: stdout stays clean for `--json`). */
  readonly stream: Writable;
  /** A terminal gets a live bar; a log file gets a status line every `intervalMs`. */
  readonly isTTY: boolean;
  /** Print nothing. @default false */
  readonly quiet?: boolean;
  /** Prompts this run has to finish (known so far, while `reading`). */
  readonly total: number;
  /** The inputs are still being read: the total is what was read so far, and grows (`setTotal`). @default false */
  readonly reading?: boolean;
  /** Status-line period when not on a terminal. @default 10000 */
  readonly intervalMs?: number;
  /** When the run stops sending (`--until`, `--for`), epoch ms: the line shows the time left, and warns once when the ETA passes it. */
  readonly deadlineAt?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface BarLike {
  start(total: number, value: number, payload: object): void;
  update(value: number, payload: object): void;
  setTotal?(total: number): void;
  stop(): void;
}

/**
 * Shows the run's progress: done/total, %, requests/s, tokens/s, ETA, failed, in flight. The
 * only module that touches cli-progress; the scheduler never prints.
 */
export class ProgressReporter implements SchedulerListener {
  readonly #options: ProgressReporterOptions;
  readonly #now: () => number;
  #started = 0;
  #finished = 0;
  #failed = 0;
  #inFlight = 0;
  #retries = 0;
  #tokens = 0;
  #bar: BarLike | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastDraw = 0;
  /** Since when every server has been down (epoch ms), while the run is paused. */
  #pausedSince: number | undefined;
  /** Whether the pause waits for a model to load rather than for a server that failed. */
  #pausedLoading = false;
  #total: number;
  #reading: boolean;
  /** Whether the "will not fit before the deadline" warning was given (once a run). */
  #warnedFit = false;

  constructor(options: ProgressReporterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#total = options.total;
    this.#reading = options.reading ?? false;
  }

  /** The total grew while the inputs are read, or reading ended (`reading` false: the total is final). */
  setTotal(total: number, reading: boolean): void {
    this.#total = total;
    this.#reading = reading;
    this.#bar?.setTotal?.(total);
  }

  async start(): Promise<void> {
    this.#started = this.#now();
    if (this.#options.quiet) return;
    if (this.#options.isTTY) {
      const { default: cliProgress } = await import('cli-progress');
      const bar = new cliProgress.SingleBar(
        {
          stream: this.#options.stream as NodeJS.WritableStream,
          format: '{paused} {bar} {percentage}% | {value}/{total}{reading} | {rps} req/s | {tps} tok/s | ETA {eta}{deadline} | failed {failed} | in flight {inflight}',
          hideCursor: true,
          clearOnComplete: false,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(this.#total, 0, this.#payload());
      this.#bar = bar;
    } else {
      this.#timer = setInterval(() => {
        this.#options.stream.write(`${this.statusLine()}\n`);
        this.#warnIfPastDeadline();
      }, this.#options.intervalMs ?? 10_000);
      this.#timer.unref();
    }
  }

  /** In flight means on the wire: a prompt waiting for a server or for its retry delay is not. */
  onRequestStart(_item: PromptItem): void {
    this.#inFlight += 1;
  }

  onRequestEnd(_item: PromptItem): void {
    this.#inFlight -= 1;
  }

  onRetry(_item: PromptItem, _error: AppError, _delayMs: number): void {
    this.#retries += 1;
  }

  /** Every server is down (`loading`: loading its model): the bar says since when, until one answers. */
  onAllDown(since: number, loading = false): void {
    this.#pausedSince = since;
    this.#pausedLoading = loading;
    this.#bar?.update(this.#finished, this.#payload());
  }

  onRecovered(_downMs: number): void {
    this.#pausedSince = undefined;
    this.#bar?.update(this.#finished, this.#payload());
  }

  onOutcome(outcome: ItemOutcome): void {
    this.#finished += 1;
    if (outcome.status === 'failed') this.#failed += 1;
    this.#tokens += outcome.completionTokens ?? 0;
    // Redrawing per outcome at thousands per second would cost more than the requests.
    const now = this.#now();
    if (this.#bar && now - this.#lastDraw >= 200) {
      this.#lastDraw = now;
      this.#bar.update(this.#finished, this.#payload());
    }
    this.#warnIfPastDeadline();
  }

  /**
   * Once a run, when the ETA passes the deadline: `batch: at this rate 800 of 2,000 prompts fit
   * before 07:00`, so a night that will not finish is known while there is time to act.
   */
  #warnIfPastDeadline(): void {
    const deadlineAt = this.#options.deadlineAt;
    if (deadlineAt === undefined || this.#warnedFit || this.#options.quiet || this.#reading || this.#pausedSince !== undefined) return;
    if (this.#finished < Math.min(MIN_OUTCOMES_FOR_FIT, this.#total)) return;
    const now = this.#now();
    const rps = this.#finished / Math.max(0.001, (now - this.#started) / 1000);
    const leftS = Math.max(0, (deadlineAt - now) / 1000);
    const remaining = this.#total - this.#finished;
    if (rps <= 0 || remaining / rps <= leftS) return;
    this.#warnedFit = true;
    const fit = Math.min(this.#total, this.#finished + Math.floor(rps * leftS));
    this.#options.stream.write(`${this.#bar ? '\n' : ''}batch: at this rate ${formatCount(fit)} of ${formatCount(this.#total)} prompts fit before ${formatClock(deadlineAt)}; the rest wait for \`batch resume\`\n`);
  }

  /**
   * One line for logs: `batch: 120/1000 (12%) 4.1 req/s 52 tok/s failed 0 in flight 8 ETA 3m 12s`;
   * while the inputs are read, `batch: 120/1000+ (reading) …` (the total so far, no percentage).
   */
  statusLine(): string {
    const p = this.#payload();
    const total = this.#total;
    const pct = total === 0 ? 100 : Math.floor((this.#finished / total) * 100);
    const progress = this.#reading ? `${this.#finished}/${total}+ (reading)` : `${this.#finished}/${total} (${pct}%)`;
    return `batch: ${p.paused === '' ? '' : `${p.paused} `}${progress} ${p.rps} req/s ${p.tps} tok/s failed ${p.failed} in flight ${p.inflight} retries ${this.#retries} ETA ${p.eta}${p.deadline}`;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#bar) {
      this.#bar.update(this.#finished, this.#payload());
      this.#bar.stop();
      this.#bar = undefined;
    }
  }

  #payload(): { paused: string; rps: string; tps: string; eta: string; deadline: string; failed: number; inflight: number; reading: string } {
    const elapsedS = Math.max(0.001, (this.#now() - this.#started) / 1000);
    const rps = this.#finished / elapsedS;
    const remaining = this.#total - this.#finished;
    return {
      paused: this.#pausedSince === undefined ? '' : `paused: ${this.#pausedLoading ? 'loading the model' : 'every server down'} since ${new Date(this.#pausedSince).toTimeString().slice(0, 8)} |`,
      rps: rps.toFixed(1),
      tps: (this.#tokens / elapsedS).toFixed(0),
      // No ETA while the total is unknown or every server is down.
      eta: rps > 0 && !this.#reading && this.#pausedSince === undefined ? formatDuration((remaining / rps) * 1000) : '?',
      // ` | until 07:00 (3h 02m left)`: the deadline on the clock, and how far it is.
      deadline: this.#options.deadlineAt === undefined ? '' : ` | until ${formatClock(this.#options.deadlineAt)} (${formatDuration(Math.max(0, this.#options.deadlineAt - this.#now()))} left)`,
      reading: this.#reading ? '+ reading' : '',
      failed: this.#failed,
      inflight: this.#inFlight,
    };
  }
}
