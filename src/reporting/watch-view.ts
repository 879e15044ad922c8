import type { JobState, StatusCounts } from '../store/store-records.js';
import type { RecentFailure, WatchFacts } from '../store/watch-facts.js';
import { formatDuration } from './format-duration.js';

/** What one refresh saw, kept to measure the rate at the next. */
export interface WatchPoint {
  /** Epoch milliseconds of the refresh. */
  readonly at: number;
  /** Prompts finished (done + failed) then. */
  readonly finished: number;
}

/** One server in the live view. */
export interface WatchServer {
  readonly url: string;
  /** Requests on the wire in the newest sample (0 when the sample names none). */
  readonly inFlight: number;
  readonly done: number;
  readonly failed: number;
  /** Since its last finished prompt; null when it finished none yet. */
  readonly lastAnswerAgoMs: number | null;
}

/** The live view of a job at one refresh, as data (`--watch --json` prints it as one line). */
export interface WatchView {
  readonly job: string;
  readonly state: JobState;
  /** Epoch milliseconds of the refresh. */
  readonly at: number;
  readonly counts: StatusCounts;
  /**
   * Prompts finished per second since the previous refresh; at the first refresh, the newest
   * sample's request rate. Null when nothing measures it (or the job is not running).
   */
  readonly ratePerS: number | null;
  /** Pending and running prompts at `ratePerS`; null without a rate above zero. */
  readonly etaMs: number | null;
  /** Requests on the wire in the newest sample; null without one. */
  readonly inFlight: number | null;
  readonly servers: readonly WatchServer[];
  readonly recentFailures: readonly RecentFailure[];
}

/** The live view from one refresh's facts and the previous refresh (pure: the clock is `now`). */
export function buildWatchView(facts: WatchFacts, previous: WatchPoint | undefined, now: number): WatchView {
  const { counts, state, latestSample: sample } = facts;
  const finished = counts.done + counts.failed;
  const running = state === 'running';
  let ratePerS: number | null = null;
  if (running && previous !== undefined && now > previous.at) ratePerS = Math.max(0, finished - previous.finished) / ((now - previous.at) / 1000);
  else if (running && previous === undefined) ratePerS = sample?.requestsPerS ?? null;
  const left = counts.pending + counts.running;
  const etaMs = ratePerS !== null && ratePerS > 0 && left > 0 ? (left / ratePerS) * 1000 : null;
  const inFlightByServer = running ? (sample?.inFlightByServer ?? {}) : {};
  const urls = [...new Set([...facts.servers.map((s) => s.url), ...Object.keys(inFlightByServer)])].sort();
  const servers = urls.map((url): WatchServer => {
    const activity = facts.servers.find((s) => s.url === url);
    return {
      url,
      inFlight: inFlightByServer[url] ?? 0,
      done: activity?.done ?? 0,
      failed: activity?.failed ?? 0,
      lastAnswerAgoMs: activity === undefined ? null : Math.max(0, now - activity.lastAt),
    };
  });
  return { job: facts.job, state, at: now, counts, ratePerS, etaMs, inFlight: running && sample !== null ? sample.inFlight : null, servers, recentFailures: facts.recentFailures };
}

/** The point a view leaves for the next refresh's rate. */
export function watchPointOf(view: WatchView): WatchPoint {
  return { at: view.at, finished: view.counts.done + view.counts.failed };
}

const rateText = (view: WatchView): string => (view.ratePerS === null ? '–' : `${view.ratePerS.toFixed(1)}/s`);
const etaText = (view: WatchView): string => (view.etaMs === null ? '–' : formatDuration(view.etaMs));
const percent = (part: number, total: number): string => (total === 0 ? '0%' : `${Math.floor((part / total) * 100)}%`);

/** The view as one line, for a log (stdout that is no terminal): a line per refresh. */
export function formatWatchLine(view: WatchView): string {
  const { counts } = view;
  const time = new Date(view.at).toISOString().slice(11, 19);
  const inFlight = view.inFlight === null ? '' : `  in flight ${view.inFlight}`;
  return `${time} ${view.job} ${view.state}: ${counts.done + counts.failed}/${counts.total} (${percent(counts.done + counts.failed, counts.total)}) ${counts.done} done, ${counts.failed} failed, ${counts.pending + counts.running} pending  rate ${rateText(view)}  eta ${etaText(view)}${inFlight}`;
}

/** Characters of a failure message shown before it is cut. */
const messageWidth = 100;

/** The view as a few lines, for a terminal redrawn in place. */
export function formatWatchView(view: WatchView): string[] {
  const { counts } = view;
  const lines = [
    `job       ${view.job} (${view.state})  at ${new Date(view.at).toISOString().slice(11, 19)} UTC`,
    `prompts   ${counts.done + counts.failed}/${counts.total} finished (${percent(counts.done + counts.failed, counts.total)}): ${counts.done} done, ${counts.failed} failed, ${counts.pending + counts.running} pending`,
    `rate      ${rateText(view)}  eta ${etaText(view)}${view.inFlight === null ? '' : `  in flight ${view.inFlight}`}`,
  ];
  if (view.servers.length > 0) lines.push('servers');
  for (const server of view.servers) {
    const last = server.lastAnswerAgoMs === null ? 'no answer yet' : `last answer ${formatDuration(server.lastAnswerAgoMs)} ago`;
    lines.push(`  ${server.url}  in flight ${server.inFlight}  ${server.done} done, ${server.failed} failed  ${last}`);
  }
  if (view.recentFailures.length > 0) lines.push('last failures');
  for (const failure of view.recentFailures) {
    const message = failure.message.length > messageWidth ? `${failure.message.slice(0, messageWidth - 1)}…` : failure.message;
    lines.push(`  ${failure.code}  ${message.replace(/\s+/g, ' ')}`);
  }
  return lines;
}
