import type BetterSqlite3 from 'better-sqlite3';
import type { ModelIdentity } from '../models/model-identity.js';

interface IdentityRow {
  readonly path: string;
  readonly size_bytes: number;
  readonly mtime_ms: number;
  readonly sample_hash: string;
}

/** The model identities a job recorded, by path; none in a database from before they were kept. */
export function readModelIdentities(db: BetterSqlite3.Database, jobId: number): Map<string, ModelIdentity> {
  const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'model_identities'`).get();
  if (table === undefined) return new Map();
  const rows = db.prepare<[number], IdentityRow>('SELECT path, size_bytes, mtime_ms, sample_hash FROM model_identities WHERE job_id = ?').all(jobId);
  return new Map(rows.map((row) => [row.path, { path: row.path, sizeBytes: row.size_bytes, mtimeMs: row.mtime_ms, sampleHash: row.sample_hash }]));
}

/** Records (or replaces) the identity of one model file of a job. */
export function recordModelIdentity(db: BetterSqlite3.Database, jobId: number, identity: ModelIdentity, now = Date.now()): void {
  db.prepare(
    `INSERT INTO model_identities (job_id, path, size_bytes, mtime_ms, sample_hash, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (job_id, path) DO UPDATE SET size_bytes = excluded.size_bytes, mtime_ms = excluded.mtime_ms,
       sample_hash = excluded.sample_hash, recorded_at = excluded.recorded_at`,
  ).run(jobId, identity.path, identity.sizeBytes, identity.mtimeMs, identity.sampleHash, now);
}
