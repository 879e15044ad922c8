import { summarizeDeadline } from '../../reporting/deadline-summary.js';
import type { RunSummary } from '../../reporting/run-summary.js';
import type { RunStatisticsSummary } from '../../reporting/run-statistics.js';
import type { ModelLoadStats } from '../../scheduler/router.js';
import type { IngestSummary } from '../../store/item-ingester.js';
import type { JobInsights } from '../../reporting/job-insights.js';
import { formatDuration } from '../../reporting/format-duration.js';
import type { StatusCounts } from '../../store/store-records.js';

/** What one run of a job did and found, as `runJob` gathers it. */
export interface RunFacts {
  readonly job: string;
  readonly database: string;
  readonly output: string;
  readonly exitCode: number;
  /** Item counts before dispatch and after the run. */
  readonly before: StatusCounts;
  readonly after: StatusCounts;
  /** What reading the inputs found; undefined when this run did not read them (a resume). */
  readonly ingest: IngestSummary | undefined;
  readonly deduplicated: number;
  readonly cached: number;
  /** What the worker pool sent and got (`RunStatistics`); undefined when nothing was pending. */
  readonly scheduled: RunStatisticsSummary | undefined;
  readonly wallMs: number;
  readonly modelLoads: readonly ModelLoadStats[];
  /** The run's own servers ran on the embedded server because no llama-server was found. */
  readonly embeddedByDefault?: boolean;
  readonly interrupted: boolean;
  /** Set when the deadline stopped the run with work left: when it was (epoch ms), and whether inputs were left unread. */
  readonly deadline?: { readonly at: number; readonly inputsLeft: boolean };
  readonly resumeCommand: string | undefined;
  /** The job's insights after the run (per model and server, loads, memory, GPU); undefined when they could not be read. */
  readonly insights?: JobInsights;
}

/** A run this long on the embedded server is told what llama-server would save (10 minutes). */
export const longRunMs = 600_000;

/**
 * The embedded server's speed against llama-server on the same work, measured on this project's
 * 2-core test machine (BENCHMARKS.md, `npm run bench:llama-server`: 0.29-0.45x). The advice uses
 * the faster figure, so it never promises more than was measured.
 */
const embeddedSpeedVsLlamaServer = 0.45;

/** What a long run on the embedded server is told: the time llama-server would have taken, and the one command that builds it. */
function engineAdvice(wallMs: number): string {
  const saved = wallMs * (1 - embeddedSpeedVsLlamaServer);
  return `this run sent for ${formatDuration(wallMs)} on the embedded server; llama-server runs the same work about ${(1 / embeddedSpeedVsLlamaServer).toFixed(1)}x faster (measured, BENCHMARKS.md), about ${formatDuration(saved)} less here: \`npx batch setup llama-server\` builds it once (about 20 minutes on 2 cores, less with more), and later runs use it`;
}

/** The summary `batch run` prints (and `--json` writes) from the facts of a run. */
export function summarizeRun(facts: RunFacts): RunSummary {
  const { after, before, ingest, scheduled, wallMs } = facts;
  const perSecond = (count: number): number => (scheduled && wallMs > 0 ? (count / wallMs) * 1000 : 0);
  // Requests answered: a prompt that failed before any request was sent is none.
  const requestsPerSecond = perSecond((scheduled?.done ?? 0) + (scheduled?.failed ?? 0) - (scheduled?.failedUnsent ?? 0));
  const pending = after.pending + after.running;
  return {
    job: facts.job,
    database: facts.database,
    output: facts.output,
    exitCode: facts.exitCode,
    total: after.total,
    done: after.done,
    failed: after.failed,
    pending,
    alreadyDone: ingest?.alreadyDone ?? before.done - facts.cached,
    changed: ingest?.changed ?? 0,
    invalid: ingest?.invalid ?? 0,
    deduplicated: facts.deduplicated,
    cached: facts.cached,
    sent: scheduled?.dispatched ?? 0,
    succeeded: scheduled?.done ?? 0,
    failedThisRun: scheduled?.failed ?? 0,
    retries: scheduled?.retries ?? 0,
    wallMs,
    requestsPerSecond,
    completionTokens: scheduled?.completionTokens ?? 0,
    completionTokensPerSecond: perSecond(scheduled?.completionTokens ?? 0),
    latencyMs: scheduled?.latencyMs ?? {},
    ttftP50Ms: scheduled?.ttftP50Ms,
    modelLoads: facts.modelLoads,
    warmStartRate: scheduled && scheduled.loadReported > 0 ? scheduled.warmStarts / scheduled.loadReported : undefined,
    interrupted: facts.interrupted,
    ...(facts.deadline === undefined ? {} : { deadline: summarizeDeadline(facts.deadline.at, pending, facts.deadline.inputsLeft, requestsPerSecond) }),
    resumeCommand: facts.resumeCommand,
    ...(facts.embeddedByDefault === true && wallMs >= longRunMs ? { engineAdvice: engineAdvice(wallMs) } : {}),
    ...(facts.insights === undefined ? {} : { insights: facts.insights }),
  };
}
