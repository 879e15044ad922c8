import type { CliIo } from '../io.js';
import { openExistingJob } from '../open-existing-job.js';
import { defaults } from '../../defaults.js';
import { ExitCode, UsageError } from '../../errors.js';
import { buildWatchView, formatWatchLine, formatWatchView, watchPointOf, type WatchPoint, type WatchView } from '../../reporting/watch-view.js';
import type { JobState } from '../../store/store-records.js';

/** Options of `batch status JOB --watch`. */
export interface WatchStatusOptions {
  /** The job name. */
  readonly job: string;
  /** The job database file. @default `<batch home>/<job>.sqlite` */
  readonly db?: string;
  /** Milliseconds between refreshes. @default 2000 */
  readonly intervalMs?: number;
  /** One JSON object per refresh on stdout (JSON lines) instead of text. @default false */
  readonly json?: boolean;
}

/** The clock and the wait between refreshes; tests pass their own so that nothing waits on wall time. */
export interface WatchClock {
  readonly now: () => number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The longest refresh interval: a view that refreshes less than hourly watches nothing. */
const maxIntervalMs = 3_600_000;

const realClock: WatchClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
};

/** The exit code of a watch that saw its job end: the job's own (README "Exit codes"). */
function exitCodeOf(state: Exclude<JobState, 'running'>): number {
  return state === 'done' ? ExitCode.Ok : state === 'failed' ? ExitCode.PromptsFailed : ExitCode.Interrupted;
}

/**
 * `batch status JOB --watch`: reads the job database read-only every `intervalMs` and redraws a
 * compact view (in place on a terminal, a line per refresh otherwise) until the job is no longer
 * running by the liveness rule, then prints the final view and exits with the job's code; Ctrl-C
 * stops watching (the CLI maps it to 130). The job is never touched.
 */
export async function watchStatus(options: WatchStatusOptions, io: CliIo, clock: WatchClock = realClock): Promise<number> {
  const intervalMs = options.intervalMs ?? defaults.intervalMs;
  if (intervalMs > maxIntervalMs) {
    throw new UsageError(`--interval ${intervalMs / 1000}: expected at most ${maxIntervalMs / 1000} seconds between refreshes; give a shorter --interval`);
  }
  const { store } = await openExistingJob(options, io);
  const draw = drawer(io, options.json === true);
  let previous: WatchPoint | undefined;
  try {
    for (;;) {
      const facts = store.watchFacts(options.job);
      // The job's row went away (a database replaced under the watch): nothing left to watch.
      if (facts === undefined) throw new UsageError(`job "${options.job}" is no longer in ${store.path}; \`batch jobs\` lists the jobs there`);
      const view = buildWatchView(facts, previous, clock.now());
      draw(view);
      if (view.state !== 'running') return exitCodeOf(view.state);
      previous = watchPointOf(view);
      await clock.sleep(intervalMs, io.softStop);
      if (io.softStop.aborted) return ExitCode.Interrupted;
    }
  } finally {
    store.close();
  }
}

/**
 * How views reach stdout: JSON lines; a block redrawn in place on a terminal (cursor up over the
 * previous block, each line cleared as it is rewritten, so nothing flickers); else a line each.
 */
function drawer(io: CliIo, json: boolean): (view: WatchView) => void {
  if (json) return (view) => io.stdout.write(`${JSON.stringify(view)}\n`);
  const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
  if (!tty) return (view) => io.stdout.write(`${formatWatchLine(view)}\n`);
  let drawn = 0;
  return (view) => {
    const lines = formatWatchView(view);
    let text = drawn > 0 ? `\x1b[${drawn}F` : '';
    for (const line of lines) text += `\x1b[2K${line}\n`;
    // A shorter view than the last: clear what is left of the old one below it.
    if (drawn > lines.length) text += '\x1b[J';
    drawn = lines.length;
    io.stdout.write(text);
  };
}
