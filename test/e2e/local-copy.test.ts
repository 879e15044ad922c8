import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll-until.js';
import { parseJsonl, runCliProcess, startCliProcess } from '../helpers/run-cli-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-local-copy-'));
  sim = await startSimServer({ slots: 4, serviceMs: 15 });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Prompts answered in the kept database, read as another node would (it may be renamed over meanwhile). */
function doneInKept(file: string): number {
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM items WHERE status = 'done'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('--local-copy: a job database kept where SQLite is not safe', () => {
  it('is never opened where it is kept; killed outright, the run resumes from the last copy written back and ends with every prompt once', async () => {
    const home = path.join(dir, 'shared');
    const local = path.join(dir, 'node-local');
    const input = path.join(dir, 'prompts.jsonl');
    const out = path.join(dir, 'out.jsonl');
    writePrompts(input, 300, 'c');
    const env = { BATCH_HOME: home, TMPDIR: local };
    const args = ['run', input, '--server', sim.url, '--job', 'copied', '--workers', '4', '--out', out, '--local-copy', 'always', '--local-copy-every', '1'];
    const run = startCliProcess(args, { env });
    await run.waitFor(/working on a copy on local disk/);
    const kept = path.join(home, 'copied.sqlite');
    await pollUntil(() => doneInKept(kept) >= 40, 'a copy written back with 40 answers');
    // SQLite's WAL and shared memory never appear beside the kept file; its lock does, while the run works on a copy.
    expect(readdirSync(home).filter((name) => name.startsWith('copied.sqlite')).sort()).toEqual(['copied.sqlite', 'copied.sqlite.lock']);
    run.child.kill('SIGKILL');
    await run.done;
    const answeredBefore = sim.stats().completed;

    const resumed = await runCliProcess(args, { env });
    expect(resumed.code).toBe(0);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines.map((line) => line.custom_id)).toEqual(Array.from({ length: 300 }, (_, i) => `c${i}`));
    expect(doneInKept(kept)).toBe(300);
    // Sent again: at most what was answered after the last copy written back (or in flight).
    const stats = sim.stats();
    const resent = Object.values(stats.byPrompt).reduce((sum, n) => sum + (n - 1), 0);
    expect(resent).toBeLessThan(answeredBefore);
    expect(Object.keys(stats.byPrompt)).toHaveLength(300);
    // The killed run's copy and lock were taken over by the next run; the finished run removed its own.
    expect(readdirSync(local)).toEqual([]);
    expect(resumed.stderr).toMatch(/copied\.sqlite was left locked \(.*copied\.sqlite\.lock\) by pid \d+ on .*, which is gone; taking over/);
    expect(readdirSync(home).filter((name) => name.startsWith('copied.sqlite'))).toEqual(['copied.sqlite']);
    const db = new Database(kept, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    db.close();
  });
});
