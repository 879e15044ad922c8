import type BetterSqlite3 from 'better-sqlite3';
import { readBenches, type BenchRecord } from './benches.js';
import { groupStats, managedLoadsByModel, type GroupStats } from './group-stats.js';
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
import { computeJobStats, type JobStats } from './job-stats.js';
import { gpuInsight, memoryInsight, underuseWarning, type GpuInsight, type MemoryInsight } from './sample-insights.js';
import { readSamples, type SampleRecord } from './samples.js';
import type { JobRecord, StatusCounts } from './store-records.js';

/** Model loads over a job, and how many prompts found their model loaded. */
export interface LoadInsight {
  /** Model loads: those servers reported (Ollama), plus, without `--server`s, each managed server start. */
  readonly loads: number;
  /** Prompts that sent requests and finished. */
  readonly prompts: number;
  /** Answers that reported a load time, and those of them under 50 ms (the model was loaded). */
  readonly loadReported: number;
  readonly warmStarts: number;
  /** warmStarts / loadReported; null when no answer reported a load time. */
  readonly warmStartRate: number | null;
  /** Prompts served without a load: (prompts − loads) / prompts; null before any prompt. */
  readonly cacheHitRatio: number | null;
}

/** What `batch status`, the end of a run and `batch report` say about a job beyond its counts. */
export interface JobInsights {
  readonly stats: JobStats;
  readonly perModel: readonly GroupStats[];
  readonly perServer: readonly GroupStats[];
  readonly loads: LoadInsight;
  readonly failuresByCode: ReadonlyArray<{ readonly code: string; readonly count: number }>;
  /** Retried attempts by the code that caused them. */
  readonly retryCauses: ReadonlyArray<{ readonly code: string; readonly count: number }>;
  readonly memory: MemoryInsight | null;
  readonly gpu: GpuInsight | null;
  /** The idle-GPU warning naming its likely cause; undefined when there is none. */
  readonly warning: string | undefined;
  /** Samples the job holds (0 for a job run before sampling, or by another tool). */
  readonly sampleCount: number;
}

/** Everything `batch report` shows: the insights, and the data of its charts. */
export interface JobReportData extends JobInsights {
  readonly job: { readonly name: string; readonly state: string; readonly createdAt: number };
  /** Throughput, in flight and queued over time: from samples when the job has them, else rebuilt from prompts' times. */
  readonly series: { readonly source: 'samples' | 'items'; readonly points: readonly SeriesPoint[] };
  readonly samples: readonly SampleRecord[];
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

/** A number from the job's saved settings, when it holds one. */
function savedNumber(job: JobRecord, key: string): number | undefined {
  const settings = (job.config as { settings?: Record<string, unknown> }).settings;
  const value = settings?.[key];
  return typeof value === 'number' ? value : undefined;
}

function usesServers(job: JobRecord): boolean {
  const servers = (job.config as { settings?: { servers?: unknown } }).settings?.servers;
  return Array.isArray(servers) && servers.length > 0;
}

function insightsFrom(db: BetterSqlite3.Database, job: JobRecord, samples: readonly SampleRecord[]): JobInsights {
  const stats = computeJobStats(db, job.id, countsOf(db, job.id));
  const perModel = groupStats(db, job.id, 'model');
  const perServer = groupStats(db, job.id, 'server');
  const prompts = perModel.reduce((a, g) => a + g.requests, 0);
  const loadReported = perModel.reduce((a, g) => a + g.loadReported, 0);
  const warmStarts = perModel.reduce((a, g) => a + g.warmStarts, 0);
  const managedLoads = usesServers(job) ? 0 : [...managedLoadsByModel(db, job.id).values()].reduce((a, b) => a + b, 0);
  const loads = loadReported - warmStarts + managedLoads;
  const memory = memoryInsight(samples);
  const gpu = gpuInsight(samples);
  const workers = savedNumber(job, 'workers');
  const slotsPerServer = usesServers(job) ? undefined : savedNumber(job, 'slots');
  return {
    stats,
    perModel,
    perServer,
    loads: {
      loads,
      prompts,
      loadReported,
      warmStarts,
      warmStartRate: loadReported > 0 ? warmStarts / loadReported : null,
      cacheHitRatio: prompts > 0 ? Math.max(0, prompts - loads) / prompts : null,
    },
    failuresByCode: failuresByCode(db, job.id),
    retryCauses: retryCauses(db, job.id),
    memory,
    gpu,
    warning: underuseWarning(samples, gpu, {
      perServer,
      loads,
      models: perModel.length,
      ...(workers === undefined ? {} : { workers }),
      ...(slotsPerServer === undefined ? {} : { slotsPerServer }),
    }),
    sampleCount: samples.length,
  };
}

/** The insights of a job (`batch status`, the end of a run): a handful of aggregate queries over the job. */
export function readJobInsights(db: BetterSqlite3.Database, job: JobRecord): JobInsights {
  return insightsFrom(db, job, readSamples(db, job.id));
}

/** Everything `batch report` shows about a job; read-only, so it works on a job another process is running. */
export function readJobReport(db: BetterSqlite3.Database, job: JobRecord): JobReportData {
  // One read transaction: a run committing meanwhile cannot make the tables disagree.
  return db.transaction((): JobReportData => {
    const samples = readSamples(db, job.id);
    const insights = insightsFrom(db, job, samples);
    const fromSamples = samples.filter((s) => s.requestsPerS !== null);
    const series =
      fromSamples.length >= 2
        ? {
            source: 'samples' as const,
            points: fromSamples.map((s) => ({ at: s.at, requestsPerS: s.requestsPerS ?? 0, tokensPerS: s.tokensPerS ?? 0, inFlight: s.inFlight, queued: s.queued })),
          }
        : { source: 'items' as const, points: seriesFromItems(db, job.id) };
    return {
      ...insights,
      job: { name: job.name, state: job.state, createdAt: job.createdAt },
      series,
      samples,
      latencyHistogram: histogramOf(db, job.id, 'latency_ms', insights.stats.latencyMs?.p99),
      ttftHistogram: histogramOf(db, job.id, 'ttft_ms', percentile99(insights.perModel.map((g) => g.ttftMs?.p99))),
      timeSplit: timeSplitOf(db, job.id),
      failures: failureGroups(db, job.id, 50),
      benches: readBenches(db, job.id),
    };
  }).deferred();
}

/** The largest of the groups' 99th percentiles: the histogram's range. */
function percentile99(values: ReadonlyArray<number | undefined>): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}

