import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/open-database.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-store-durability-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// SQLite's `synchronous = NORMAL` in WAL mode may roll back the last commits on a power cut (its
// own documentation): those prompts would be sent again, against README's promise. FULL makes a
// commit reach the disk before it returns (the cost: BENCHMARKS.md, `npm run bench:store`).
describe('the job database survives a power cut with every commit that returned', () => {
  it('opens a writable database in WAL mode with synchronous = FULL', () => {
    const db = openDatabase({ path: path.join(dir, 'job.sqlite') });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      // 2 is FULL (1 NORMAL).
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });
});
