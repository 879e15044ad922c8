import type { JobReader } from '../store/job-reader.js';
import type { JobInsightFacts } from '../store/job-report-data.js';
import type { FallbackCount } from '../store/fallback-counts.js';
import type { GroupStats } from '../store/group-stats.js';
import type { JobStats } from '../store/job-stats.js';
import type { JobRecord } from '../store/store-records.js';
import { gpuInsight, memoryInsight, underuseWarning, type GpuInsight, type MemoryInsight } from './sample-insights.js';

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
  /** Answered prompts a fallback model answered (`--fallback`). */
  readonly fallbacks: readonly FallbackCount[];
  readonly memory: MemoryInsight | null;
  readonly gpu: GpuInsight | null;
  /** The idle-GPU warning naming its likely cause; undefined when there is none. */
  readonly warning: string | undefined;
  /** Samples the job holds (0 for a job run before sampling, or by another tool). */
  readonly sampleCount: number;
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

/** The loads of a job: reported ones, plus each managed server start when it ran no `--server`. */
function loadInsight(job: JobRecord, facts: JobInsightFacts): LoadInsight {
  const prompts = facts.perModel.reduce((a, g) => a + g.requests, 0);
  const loadReported = facts.perModel.reduce((a, g) => a + g.loadReported, 0);
  const warmStarts = facts.perModel.reduce((a, g) => a + g.warmStarts, 0);
  // Reported loads once per load: every request that waited for one reports it.
  const loads = facts.reportedLoads + (usesServers(job) ? 0 : facts.managedServerStarts);
  const answered = facts.stats.counts.done;
  return {
    loads,
    prompts,
    loadReported,
    warmStarts,
    warmStartRate: loadReported > 0 ? warmStarts / loadReported : null,
    // Nothing answered is nothing served, with or without a load.
    cacheHitRatio: prompts > 0 && answered > 0 ? Math.max(0, prompts - loads) / prompts : null,
  };
}

/** The insights of a job from its stored facts (`JobReader.insightFacts`): pure. */
export function jobInsights(job: JobRecord, facts: JobInsightFacts): JobInsights {
  const { samples, perModel, perServer } = facts;
  const loads = loadInsight(job, facts);
  const gpu = gpuInsight(samples);
  const workers = savedNumber(job, 'workers');
  const slotsPerServer = usesServers(job) ? undefined : savedNumber(job, 'slots');
  return {
    stats: facts.stats,
    perModel,
    perServer,
    loads,
    failuresByCode: facts.failuresByCode,
    retryCauses: facts.retryCauses,
    fallbacks: facts.fallbacks,
    memory: memoryInsight(samples),
    gpu,
    warning: underuseWarning(samples, gpu, {
      perServer,
      loads: loads.loads,
      models: perModel.length,
      ...(workers === undefined ? {} : { workers }),
      ...(slotsPerServer === undefined ? {} : { slotsPerServer }),
    }),
    sampleCount: samples.length,
  };
}

/** The insights of a job (`batch status`, the end of a run): a handful of aggregate queries over the job. */
export function readJobInsights(reader: JobReader, job: JobRecord): JobInsights {
  return jobInsights(job, reader.insightFacts(job.id));
}
