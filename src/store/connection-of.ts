import type BetterSqlite3 from 'better-sqlite3';

const connections = new WeakMap<object, BetterSqlite3.Database>();

/** Records the connection under a `JobReader` (its constructor does), for `connectionOf`. */
export function rememberConnection(reader: object, db: BetterSqlite3.Database): void {
  connections.set(reader, db);
}

/**
 * The SQLite connection under a `JobReader` or `CheckpointStore`: for the store's own tests (SQL
 * assertions, injected faults) and benchmarks. Nothing in src/ outside src/store/ imports this
 * file (test/layers.test.ts checks): the rest of batch reads a job through `JobReader`'s queries.
 */
export function connectionOf(reader: object): BetterSqlite3.Database {
  const db = connections.get(reader);
  if (db === undefined) throw new TypeError('connectionOf: not a JobReader or CheckpointStore');
  return db;
}
