import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { checkWholeNumber, optionError } from '../util/check-option.js';
import { applyMigrations, migrations, schemaDifference } from './migrations.js';
import { makeFolder } from '../util/make-folder.js';

/** How to open a job database. */
export interface OpenDatabaseOptions {
  /** File path, or `:memory:` (tests). */
  readonly path: string;
  /**
   * Open for reading only (`batch status`, `jobs`, `export`): the file must exist, nothing is
   * created or migrated, and a run in progress is not disturbed.
   * @default false
   */
  readonly readonly?: boolean;
  /**
   * How long a statement waits for another process's write lock before failing, in milliseconds.
   * @default 5000
   */
  readonly busyTimeoutMs?: number;
}

/** Checkpoints hold prompts and answers: only the owner may read them. */
const fileMode = 0o600;
const folderMode = 0o700;

function unavailable(dbPath: string, reason: string, cause?: unknown): StoreError {
  return new StoreError(
    'STORE_UNAVAILABLE',
    `cannot open job database ${dbPath}: ${reason}; check the path and its permissions, or pass --db`,
    cause,
  );
}

function reasonOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}

/** Sets 0600 on the database and its WAL files whatever the umask was when SQLite created them. */
function restrictModes(dbPath: string): void {
  for (const file of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) {
    try {
      chmodSync(file, fileMode);
    } catch (error) {
      // A WAL file may not exist yet, and a file owned by another user cannot be changed: neither
      // stops the job.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') throw error;
    }
  }
}

/**
 * SQLite's page cache per connection, in KiB: SQLite's own default. A run holds three connections
 * (two on the main thread, one on the writer thread); 4000 cost ~3 MB more peak RSS at 100,000
 * prompts (throughput: see BENCHMARKS.md).
 */
const pageCacheKib = 2000;

/**
 * Opens a job database: creates its folder and file (0600) unless read-only, sets the pragmas
 * (WAL, synchronous=FULL, busy timeout, foreign keys) and brings the schema up to date.
 * Any failure becomes `STORE_UNAVAILABLE` naming the path and the reason.
 */
/** Tables of a database that batch never created: there are some, and no `migrations` table of ours. */
function foreignTables(db: Database.Database): string[] {
  const tables = db.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all();
  return tables.includes('migrations') ? [] : tables;
}

export function openDatabase(options: OpenDatabaseOptions): Database.Database {
  const dbPath = options.path;
  if (typeof dbPath !== 'string' || dbPath === '') {
    throw optionError('path', 'a file path or ":memory:"', dbPath);
  }
  const readonly = options.readonly ?? false;
  const busyTimeoutMs = checkWholeNumber('busyTimeoutMs', options.busyTimeoutMs ?? 5000, 0);
  const memory = dbPath === ':memory:';
  const resolved = memory ? dbPath : path.resolve(dbPath);

  if (!memory) {
    if (readonly) {
      if (!existsSync(resolved)) throw unavailable(resolved, 'the file does not exist');
    } else {
      try {
        makeFolder(path.dirname(resolved), folderMode);
        closeSync(openSync(resolved, 'a', fileMode));
      } catch (error) {
        throw unavailable(resolved, reasonOf(error), error);
      }
    }
  }

  let db: Database.Database | undefined;
  try {
    db = new Database(resolved, { readonly, fileMustExist: !memory });
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Reading the schema is the first access to the file: it fails here for a file that is not
    // a database, rather than in the middle of a run.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    if (!readonly) {
      // Before anything writes (even the journal mode changes the file's header).
      const foreign = foreignTables(db);
      if (foreign.length > 0) {
        throw unavailable(resolved, `it is another program's SQLite database (tables ${foreign.slice(0, 5).join(', ')}), which batch will not change; pass a --db of batch's own`);
      }
      db.pragma('journal_mode = WAL');
      // FULL, not NORMAL: under NORMAL a power cut may roll back the last commits, and their
      // prompts would be sent again. FULL costs one fsync per group commit, ~4 ms on the writer's
      // thread, off the dispatch path (BENCHMARKS.md, `npm run bench:store`).
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    // better-sqlite3 builds SQLite with a 16 MB page cache per connection, and a run holds two
    // (and a writer thread's): the operating system caches the file anyway, so memory stays small.
    db.pragma(`cache_size = -${pageCacheKib}`);
    if (readonly) {
      const { missingForReaders: missing, unknown, missing: all } = schemaDifference(db);
      if (all.length === migrations.length) {
        const foreign = foreignTables(db);
        throw unavailable(resolved, foreign.length > 0 ? `it is another program's SQLite database (tables ${foreign.slice(0, 5).join(', ')}), not a batch job database` : 'it holds no batch job (an empty database)');
      }
      if (missing.length > 0) {
        throw unavailable(resolved, `its schema lacks ${missing.join(', ')} and a read-only open cannot add them; open it once with \`batch resume\``);
      }
      if (unknown.length > 0) {
        throw unavailable(resolved, `it was written by a newer version of batch (migrations ${unknown.join(', ')}); upgrade batch`);
      }
    } else {
      const { unknown } = schemaDifference(db);
      if (unknown.length > 0) {
        throw unavailable(resolved, `it was written by a newer version of batch (migrations ${unknown.join(', ')}); upgrade batch`);
      }
      applyMigrations(db);
      if (!memory) restrictModes(resolved);
    }
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof StoreError) throw error;
    throw unavailable(resolved, reasonOf(error), error);
  }
}
