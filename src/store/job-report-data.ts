import type BetterSqlite3 from 'better-sqlite3';
import { readBenches, type BenchRecord } from './benches.js';
import { groupStats, managedLoadsByModel, type GroupStats } from './group-stats.js';
import { countReportedLoads } from './reported-loads.js';
import {
  failureGroups,
  failuresByCode,
  histogramOf,
  retryCauses,
  seriesFromItems,
  timeSplitOf,
  type FailureGroup,
  type Histogram,
  type SeriesPoint,
  type TimeSplit,
} from './item-series.js';
import { computeJobStats, readJobPercentiles, type JobStats } from './job-stats.js';
import { fallbackCounts, type FallbackCount } from './fallback-counts.js';
import { readSamples, type SampleRecord } from './samples.js';
import type { StatusCounts } from './store-records.js';

/**
 * What `batch status`, the end of a run and `batch report` say about a job beyond its counts, as
 * the database holds it: plain data, no wording. src/reporting/job-insights.ts makes the
 * insights of it (loads, memory, GPU use, the idle-GPU warning).
 */
export interface JobInsightFacts {
  readonly stats: JobStats;
  readonly perModel: readonly GroupStats[];
  readonly perServer: readonly GroupStats[];
  /** Managed servers started over the job, one per model per server (each one loaded its model). */
  readonly managedServerStarts: number;
  /**
   * Model loads servers reported (Ollama's `load_duration`), once per load: the requests that
   * waited for one load all report it (see countReportedLoads).
   */
  readonly reportedLoads: number;
  readonly failuresByCode: ReadonlyArray<{ readonly code: string; readonly count: number }>;
  /** Retried attempts by the code that caused them. */
  readonly retryCauses: ReadonlyArray<{ readonly code: string; readonly count: number }>;
  /** Answered prompts a fallback model answered (`--fallback`), by own model, answering model and reason. */
  readonly fallbacks: readonly FallbackCount[];
  /** The job's samples, oldest first (none for a job run before sampling, or by another tool). */
  readonly samples: readonly SampleRecord[];
}

/** Everything `batch report` shows, as the database holds it: the insight facts and the data of its charts. */
export interface JobReportFacts extends JobInsightFacts {
  /** Throughput, in flight and queued over time: from samples when the job has them, else rebuilt from prompts' times. */
  readonly series: { readonly source: 'samples' | 'items'; readonly points: readonly SeriesPoint[] };
  readonly latencyHistogram: Histogram | null;
  readonly ttftHistogram: Histogram | null;
  readonly timeSplit: TimeSplit;
  /** Failures by code and message, with the messages (at most 50 groups). */
  readonly failures: readonly FailureGroup[];
  readonly benches: readonly BenchRecord[];
}

function countsOf(db: BetterSqlite3.Database, jobId: number): StatusCounts {
  const row = db
    .prepare<[number], StatusCounts>(
      `SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'running') AS running,
         count(*) FILTER (WHERE status = 'done') AS done, count(*) FILTER (WHERE status = 'failed') AS failed, count(*) AS total
       FROM items WHERE job_id = ?`,
    )
    .get(jobId);
  return row ?? { pending: 0, running: 0, done: 0, failed: 0, total: 0 };
}

/**
 * The model loads the job's runs counted themselves (`runs.model_loads`), summed; undefined when
 * no run counted them (a job from before they were counted, or a database not migrated yet).
 */
function recordedModelLoads(db: BetterSqlite3.Database, jobId: number): number | undefined {
  try {
    const row = db.prepare<[number], { runs: number; loads: number }>('SELECT count(model_loads) AS runs, coalesce(sum(model_loads), 0) AS loads FROM runs WHERE job_id = ?').get(jobId);
    return row === undefined || row.runs === 0 ? undefined : row.loads;
  } catch {
    // No such column: a database no run has migrated since.
    return undefined;
  }
}

/** The insight facts of a job: a handful of aggregate queries over it. */
export function readInsightFacts(db: BetterSqlite3.Database, jobId: number): JobInsightFacts {
  const percentiles = readJobPercentiles(db, jobId);
  return {
    stats: computeJobStats(db, jobId, countsOf(db, jobId), percentiles),
    perModel: groupStats(db, jobId, 'model', percentiles),
    perServer: groupStats(db, jobId, 'server', percentiles),
    managedServerStarts: recordedModelLoads(db, jobId) ?? [...managedLoadsByModel(db, jobId).values()].reduce((a, b) => a + b, 0),
    reportedLoads: countReportedLoads(db, jobId),
    failuresByCode: failuresByCode(db, jobId),
    retryCauses: retryCauses(db, jobId),
    fallbacks: fallbackCounts(db, jobId),
    samples: readSamples(db, jobId),
  };
}

/** Everything `batch report` shows about a job; read-only, so it works on a job another process is running. */
export function readReportFacts(db: BetterSqlite3.Database, jobId: number): JobReportFacts {
  // One read transaction: a run committing meanwhile cannot make the tables disagree.
  return db.transaction((): JobReportFacts => {
    const facts = readInsightFacts(db, jobId);
    const fromSamples = facts.samples.filter((s) => s.requestsPerS !== null);
    const series =
      fromSamples.length >= 2
        ? {
            source: 'samples' as const,
            points: fromSamples.map((s) => ({ at: s.at, requestsPerS: s.requestsPerS ?? 0, tokensPerS: s.tokensPerS ?? 0, inFlight: s.inFlight, queued: s.queued })),
          }
        : { source: 'items' as const, points: seriesFromItems(db, jobId) };
    return {
      ...facts,
      series,
      latencyHistogram: histogramOf(db, jobId, 'latency_ms', facts.stats.latencyMs?.p99),
      ttftHistogram: histogramOf(db, jobId, 'ttft_ms', percentile99(facts.perModel.map((g) => g.ttftMs?.p99))),
      timeSplit: timeSplitOf(db, jobId),
      failures: failureGroups(db, jobId, 50),
      benches: readBenches(db, jobId),
    };
  }).deferred();
}

/** The largest of the groups' 99th percentiles: the histogram's range. */
function percentile99(values: ReadonlyArray<number | undefined>): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}
