import type BetterSqlite3 from 'better-sqlite3';

/** An item of the job that the ingest did not read. */
export interface UnseenItem {
  readonly customId: string;
  /** An unreadable line (dropped, not kept as superseded). */
  readonly invalid: boolean;
  readonly duplicateOf: string | null;
}

interface UnseenRow {
  readonly custom_id: string;
  readonly invalid: number;
  readonly duplicate_of: string | null;
}

/**
 * The custom ids one ingest read, so that what the inputs no longer hold can leave the job, and
 * an id read twice is found. A temporary table: it lives on disk pages of its own, not in
 * memory, and never in the job's file.
 */
export class SeenIds {
  readonly #clear: BetterSqlite3.Statement;
  readonly #mark: BetterSqlite3.Statement<[string]>;
  readonly #selectUnseen: BetterSqlite3.Statement<[number], UnseenRow>;
  readonly #supersedeUnseen: BetterSqlite3.Statement;
  readonly #deleteUnseen: BetterSqlite3.Statement<[number]>;

  constructor(db: BetterSqlite3.Database) {
    db.exec('CREATE TEMP TABLE IF NOT EXISTS ingest_seen (custom_id TEXT PRIMARY KEY)');
    this.#clear = db.prepare('DELETE FROM temp.ingest_seen');
    this.#mark = db.prepare('INSERT OR IGNORE INTO temp.ingest_seen (custom_id) VALUES (?)');
    const unseen = 'job_id = ? AND custom_id NOT IN (SELECT custom_id FROM temp.ingest_seen)';
    this.#selectUnseen = db.prepare(`SELECT custom_id, invalid, duplicate_of FROM items WHERE ${unseen} ORDER BY idx`);
    this.#supersedeUnseen = db.prepare(
      `INSERT OR REPLACE INTO superseded_items
         (job_id, custom_id, source, status, body, response, error_code, error_message, superseded_at)
       SELECT job_id, custom_id, source, CASE status WHEN 'running' THEN 'pending' ELSE status END,
              body, response, error_code, error_message, @now
       FROM items WHERE job_id = @jobId AND invalid = 0 AND custom_id NOT IN (SELECT custom_id FROM temp.ingest_seen)`,
    );
    this.#deleteUnseen = db.prepare(`DELETE FROM items WHERE ${unseen}`);
  }

  /** Forgets every id (before and after an ingest). */
  clear(): void {
    this.#clear.run();
  }

  /** Records `customId`; false when this ingest read it before. */
  mark(customId: string): boolean {
    return this.#mark.run(customId).changes === 1;
  }

  /**
   * Takes out of the job every item not read: valid ones are kept in `superseded_items`,
   * unreadable ones (a line since fixed or removed) are dropped. Returns them in input order.
   */
  takeOutUnseen(jobId: number): UnseenItem[] {
    const unseen = this.#selectUnseen.all(jobId);
    if (unseen.length === 0) return [];
    this.#supersedeUnseen.run({ jobId, now: Date.now() });
    this.#deleteUnseen.run(jobId);
    return unseen.map((row) => ({ customId: row.custom_id, invalid: row.invalid === 1, duplicateOf: row.duplicate_of }));
  }
}
