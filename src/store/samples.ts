import type BetterSqlite3 from 'better-sqlite3';

import type { RunSample, SampledGpu } from './run-sample.js';

/** One GPU as a sample saw it (`nvidia-smi`). */
export type GpuSample = SampledGpu;

/**
 * A row of `samples` as read back: a run's sample (see `RunSample`), whose run may be gone, whose
 * memory may be missing, and whose GPU list is empty when no GPU was read.
 */
export type SampleRecord = Omit<RunSample, 'runId' | 'rssBytes' | 'heapBytes' | 'gpus'> & {
  readonly runId: number | null;
  readonly rssBytes: number | null;
  readonly heapBytes: number | null;
  readonly gpus: readonly GpuSample[];
};

interface SampleRow {
  readonly job_id: number;
  readonly run_id: number | null;
  readonly at: number;
  readonly interval_ms: number;
  readonly done: number;
  readonly failed: number;
  readonly queued: number;
  readonly in_flight: number;
  readonly in_flight_by_server: string | null;
  readonly requests_per_s: number | null;
  readonly tokens_per_s: number | null;
  readonly rss_bytes: number | null;
  readonly heap_bytes: number | null;
  readonly gpus: string | null;
}

/**
 * Writes one sample row exactly as the schema holds it (JSON for the per-server and per-GPU
 * values; no GPU reading is stored as null). The run sampler writes through here, as do tests.
 */
export function recordSample(db: BetterSqlite3.Database, sample: SampleRecord | RunSample): number {
  const result = db
    .prepare(
      `INSERT INTO samples (job_id, run_id, at, interval_ms, done, failed, queued, in_flight, in_flight_by_server,
         requests_per_s, tokens_per_s, rss_bytes, heap_bytes, gpus)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      sample.jobId,
      sample.runId,
      sample.at,
      Math.round(sample.intervalMs),
      sample.done,
      sample.failed,
      sample.queued,
      sample.inFlight,
      JSON.stringify(sample.inFlightByServer),
      sample.requestsPerS,
      sample.tokensPerS,
      sample.rssBytes,
      sample.heapBytes,
      sample.gpus === null ? null : JSON.stringify(sample.gpus),
    );
  return Number(result.lastInsertRowid);
}

/** Whether the database has table `name` (a read-only open of an older database may lack one). */
export function hasTable(db: BetterSqlite3.Database, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

/** JSON from the database, or `fallback` when it is missing or not what a writer of ours writes. */
function parseJson<T>(text: string | null, fallback: T, accept: (value: unknown) => boolean): T {
  if (text === null) return fallback;
  try {
    const value: unknown = JSON.parse(text);
    return accept(value) ? (value as T) : fallback;
  } catch {
    return fallback;
  }
}

function toGpus(value: unknown): GpuSample[] {
  if (!Array.isArray(value)) return [];
  const number = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return value
    .filter((gpu): gpu is Record<string, unknown> => typeof gpu === 'object' && gpu !== null)
    .map((gpu, i) => ({
      index: number(gpu['index']) ?? i,
      name: typeof gpu['name'] === 'string' ? gpu['name'] : `GPU ${i}`,
      utilizationPct: number(gpu['utilizationPct']),
      memoryUsedBytes: number(gpu['memoryUsedBytes']),
      memoryTotalBytes: number(gpu['memoryTotalBytes']),
    }));
}

/** A job's samples in time order; none for a database from before samples were taken. */
export function readSamples(db: BetterSqlite3.Database, jobId: number): SampleRecord[] {
  if (!hasTable(db, 'samples')) return [];
  return db.prepare<[number], SampleRow>('SELECT * FROM samples WHERE job_id = ? ORDER BY at, id').all(jobId).map(toSampleRecord);
}

/** A job's newest sample; null before the first, or for a database from before samples were taken. */
export function readLatestSample(db: BetterSqlite3.Database, jobId: number): SampleRecord | null {
  if (!hasTable(db, 'samples')) return null;
  const row = db.prepare<[number], SampleRow>('SELECT * FROM samples WHERE job_id = ? ORDER BY at DESC, id DESC LIMIT 1').get(jobId);
  return row === undefined ? null : toSampleRecord(row);
}

function toSampleRecord(row: SampleRow): SampleRecord {
  return {
    jobId: row.job_id,
    runId: row.run_id,
    at: row.at,
    intervalMs: row.interval_ms,
    done: row.done,
    failed: row.failed,
    queued: row.queued,
    inFlight: row.in_flight,
    inFlightByServer: parseJson<Record<string, number>>(row.in_flight_by_server, {}, (v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
    requestsPerS: row.requests_per_s,
    tokensPerS: row.tokens_per_s,
    rssBytes: row.rss_bytes,
    heapBytes: row.heap_bytes,
    gpus: toGpus(parseJson<unknown>(row.gpus, [], () => true)),
  };
}
