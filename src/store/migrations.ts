import type BetterSqlite3 from 'better-sqlite3';

/** One schema change. Names are never reused or edited once released: a database records them. */
export interface Migration {
  readonly name: string;
  readonly sql: string;
  /**
   * Read-only opens (`batch jobs`, `status`, `export`, a bare `resume` looking for its job) work
   * without it, so a database from before it stays readable until a run migrates it: every
   * reader of what it adds must treat its absence as empty.
   * @default false
   */
  readonly readersMayLack?: boolean;
}

/**
 * The schema, as an ordered list of named steps. A database records each applied name in
 * `migrations`, so opening an old checkpoint applies only what it lacks. Append new steps; never
 * edit a released one (old databases already ran it).
 */
export const migrations: readonly Migration[] = [
  {
    name: '001_jobs',
    sql: `
      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        config TEXT NOT NULL,
        input_fingerprint TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'interrupted', 'done', 'failed')),
        lock_pid INTEGER,
        lock_host TEXT,
        lock_at INTEGER
      );`,
  },
  {
    name: '002_items',
    sql: `
      CREATE TABLE items (
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        custom_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        source TEXT NOT NULL,
        endpoint TEXT,
        body TEXT,
        model TEXT,
        request_hash TEXT,
        deterministic INTEGER NOT NULL DEFAULT 0,
        duplicate_of TEXT,
        status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
        invalid INTEGER NOT NULL DEFAULT 0,
        cached INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        response TEXT,
        error_code TEXT,
        error_message TEXT,
        endpoint_url TEXT,
        served_model TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        latency_ms REAL,
        ttft_ms REAL,
        model_load_ms REAL,
        started_at INTEGER,
        finished_at INTEGER,
        PRIMARY KEY (job_id, custom_id)
      );
      CREATE INDEX items_dispatch ON items (job_id, status, model, idx);
      CREATE INDEX items_order ON items (job_id, idx);
      CREATE INDEX items_request_hash ON items (request_hash);
      CREATE INDEX items_duplicate_of ON items (job_id, duplicate_of) WHERE duplicate_of IS NOT NULL;`,
  },
  {
    name: '003_runs',
    sql: `
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        exit_code INTEGER,
        argv TEXT NOT NULL
      );
      CREATE INDEX runs_job ON runs (job_id, started_at);`,
  },
  {
    // Only deterministic requests are ever looked up by hash (deduplication, --cache): indexing
    // the others cost every insert an index write for nothing.
    name: '004_partial_request_hash_index',
    sql: `
      DROP INDEX items_request_hash;
      CREATE INDEX items_request_hash ON items (request_hash) WHERE deterministic = 1;`,
  },
  {
    // A job's items are exactly its current inputs: an item whose line was removed moves here,
    // out of the counts and the output, and stays listed by `batch status`.
    name: '005_superseded_items',
    readersMayLack: true,
    sql: `
      CREATE TABLE superseded_items (
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        custom_id TEXT NOT NULL,
        source TEXT NOT NULL,
        status TEXT NOT NULL,
        body TEXT,
        response TEXT,
        error_code TEXT,
        error_message TEXT,
        superseded_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, custom_id)
      );`,
  },
  {
    // What a run looked like over time (every few seconds), for `batch status` and `batch report`.
    // A database from before it simply has no samples.
    name: '006_samples',
    readersMayLack: true,
    sql: `
      CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        run_id INTEGER REFERENCES runs (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        interval_ms INTEGER NOT NULL,
        done INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        queued INTEGER NOT NULL,
        in_flight INTEGER NOT NULL,
        in_flight_by_server TEXT,
        requests_per_s REAL,
        tokens_per_s REAL,
        rss_bytes INTEGER,
        heap_bytes INTEGER,
        gpus TEXT
      );
      CREATE INDEX samples_job ON samples (job_id, at);`,
  },
  {
    // Per prompt: the --data row it was made from, its parsed (and validated) JSON answer, how long
    // it waited in batch before it was sent, and why its attempts were retried.
    name: '007_item_details',
    sql: `
      ALTER TABLE items ADD COLUMN row_data TEXT;
      ALTER TABLE items ADD COLUMN answer TEXT;
      ALTER TABLE items ADD COLUMN queue_wait_ms REAL;
      ALTER TABLE items ADD COLUMN retry_causes TEXT;`,
  },
  {
    // `batch bench` results (cold loads, warm latency one at a time and through the pool), kept
    // in a job database for `batch report`. A database from before it simply has none.
    name: '012b_benches',
    readersMayLack: true,
    sql: `
      CREATE TABLE benches (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        target TEXT NOT NULL,
        result TEXT NOT NULL
      );
      CREATE INDEX benches_job ON benches (job_id, at);`,
  },
  {
    // A run sends prompts while it reads them: a run stopped (or killed) before its inputs' end
    // leaves a job that holds only part of them, which `batch resume` must read again.
    name: '011a_inputs_read',
    readersMayLack: true,
    sql: `ALTER TABLE jobs ADD COLUMN inputs_read INTEGER NOT NULL DEFAULT 1;`,
  },
  {
    // The identity of each model file a job's managed servers load (size, mtime, a hash of its
    // ends), so that `batch resume` notices another model put at the same path.
    name: '013_model_identities',
    readersMayLack: true,
    sql: `
      CREATE TABLE model_identities (
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        sample_hash TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, path)
      );`,
  },
  {
    // The scheduler task (a Slurm array task, a Kubernetes completion index) that holds the lock: a
    // task requeued onto another node takes its own lock over, which a pid on another host cannot
    // show to be gone.
    name: '022_lock_task',
    readersMayLack: true,
    sql: `ALTER TABLE jobs ADD COLUMN lock_task TEXT;`,
  },
  {
    // --fallback: the model a prompt belonged to when another answered it, and why.
    name: '023_fallback_from',
    sql: `ALTER TABLE items ADD COLUMN fallback_from TEXT;
          ALTER TABLE items ADD COLUMN fallback_reason TEXT;`,
  },
  {
    // A prompt's priority (higher is sent first): models go by the highest waiting for them, a
    // model's prompts by priority, then input order. The partial index serves exactly that query
    // (the pending, sendable prompts of one model in that order). Readers never read it.
    name: '024_item_priority',
    readersMayLack: true,
    sql: `
      ALTER TABLE items ADD COLUMN priority REAL NOT NULL DEFAULT 0;
      CREATE INDEX items_pending_priority ON items (job_id, model, priority DESC, idx)
        WHERE status = 'pending' AND duplicate_of IS NULL AND invalid = 0;`,
  },
  {
    // The model loads a run waited for, when its servers load models (managed servers, the
    // daemon): counted by the run itself, where telling loads from server URLs fails (a daemon
    // serves every load at one URL; a restarted server may reuse its port). NULL: not counted.
    name: '025_run_model_loads',
    readersMayLack: true,
    sql: `ALTER TABLE runs ADD COLUMN model_loads INTEGER;`,
  },
];

/** What `applyMigrations` did. */
export interface MigrationResult {
  /** Names applied by this call, in order. */
  readonly applied: readonly string[];
}

const createMigrationsTable = `
  CREATE TABLE IF NOT EXISTS migrations (
    name TEXT PRIMARY KEY,
    applied_at INTEGER NOT NULL
  )`;

/** Names of the migrations a database has recorded, in the order they were applied. */
export function appliedMigrations(db: BetterSqlite3.Database): string[] {
  const table = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'`)
    .get();
  if (table === undefined) return [];
  return db.prepare<[], string>('SELECT name FROM migrations ORDER BY rowid').pluck().all();
}

/**
 * Applies every migration the database lacks, all in one IMMEDIATE transaction so that two
 * processes opening a fresh file at once cannot both apply the same step.
 */
export function applyMigrations(
  db: BetterSqlite3.Database,
  list: readonly Migration[] = migrations,
): MigrationResult {
  const run = db.transaction((): string[] => {
    db.exec(createMigrationsTable);
    const done = new Set(appliedMigrations(db));
    const record = db.prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)');
    const applied: string[] = [];
    for (const migration of list) {
      if (done.has(migration.name)) continue;
      db.exec(migration.sql);
      record.run(migration.name, Date.now());
      applied.push(migration.name);
    }
    return applied;
  });
  return { applied: run.immediate() };
}

/**
 * The migrations a database lacks, those of them a read-only open cannot do without, and the ones
 * it has that this version does not know (written by a newer `batch`).
 */
export function schemaDifference(
  db: BetterSqlite3.Database,
  list: readonly Migration[] = migrations,
): { readonly missing: readonly string[]; readonly missingForReaders: readonly string[]; readonly unknown: readonly string[] } {
  const have = appliedMigrations(db);
  const known = new Set(list.map((m) => m.name));
  const haveSet = new Set(have);
  return {
    missing: list.map((m) => m.name).filter((name) => !haveSet.has(name)),
    missingForReaders: list.filter((m) => m.readersMayLack !== true && !haveSet.has(m.name)).map((m) => m.name),
    unknown: have.filter((name) => !known.has(name)),
  };
}
