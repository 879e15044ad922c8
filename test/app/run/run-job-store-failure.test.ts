import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../../src/store/checkpoint-store.js';
import { connectionOf } from '../../../src/store/connection-of.js';
import { runCliInProcess } from '../../helpers/run-cli-in-process.js';
import { startSimServer, type SimServer } from '../../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-app-store-failure-'));
  sim = await startSimServer({ flavour: 'openai', slots: 2, serviceMs: 1 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const line = (id: string): string => JSON.stringify({ id, prompt: `question ${id}` });

/** Makes writes to `table` fail as a full disk does, until the returned function is called. */
function failWrites(db: string, table: 'runs' | 'items', operation: 'INSERT' | 'UPDATE'): () => void {
  const store = CheckpointStore.open({ path: db });
  try {
    connectionOf(store).exec(`CREATE TRIGGER disk_full BEFORE ${operation} ON ${table} BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
  } finally {
    store.close();
  }
  return () => {
    const again = CheckpointStore.open({ path: db });
    try {
      connectionOf(again).exec('DROP TRIGGER disk_full');
    } finally {
      again.close();
    }
  };
}

/** The words of a command printed for a POSIX shell (plain words and '…' quoting, as batch prints). */
function shellWords(command: string): string[] {
  return [...command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!));
}

describe('a job database that cannot be written while the run finishes', () => {
  it('says STORE_WRITE_FAILED (no stack trace), and the hint it prints, --db included, finishes the job', async () => {
    const home = path.join(dir, 'home-end');
    const env = { BATCH_HOME: home };
    const input = path.join(dir, 'end.jsonl');
    const db = path.join(dir, "odd place's dbs", 'j.sqlite');
    writeFileSync(input, ['a', 'b'].map(line).join('\n') + '\n');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '--db', db, '-q'], { env })).code).toBe(0);
    writeFileSync(input, ['a', 'b', 'c'].map(line).join('\n') + '\n');
    const restore = failWrites(db, 'runs', 'UPDATE');
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '--db', db, '-q'], { env });
    restore();
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`batch: error [STORE_WRITE_FAILED]: cannot record the end of the run in job database ${db}: database or disk is full`);
    expect(result.stderr).not.toContain('This is a bug');
    const hint = /continue with `([^`]+)`/.exec(result.stderr)?.[1];
    expect(hint).toBe(`batch resume j --db '${db.replace(/'/g, `'\\''`)}'`);
    const [, ...args] = shellWords(hint!);
    const resumed = await runCliInProcess([...args, '--json'], { env, cwd: os.tmpdir() });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ total: 3, done: 3 });
    // No stray database where a resume without --db would have looked.
    expect(readdirSync(home).filter((file) => file.includes('.sqlite'))).toEqual([]);
  });

  it('during ingest: says to run the same command again, which works, and leaves no stray database', async () => {
    const home = path.join(dir, 'home-ingest');
    mkdirSync(home);
    const env = { BATCH_HOME: home };
    const input = path.join(dir, 'ingest.jsonl');
    const db = path.join(dir, 'ingest-dbs', 'shared.sqlite');
    writeFileSync(input, ['a', 'b'].map(line).join('\n') + '\n');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'first', '--db', db, '-q'], { env })).code).toBe(0);
    const restore = failWrites(db, 'items', 'INSERT');
    const command = ['run', input, '--server', sim.url, '--job', 'second', '--db', db, '-q'];
    const result = await runCliInProcess(command, { env });
    restore();
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`[STORE_WRITE_FAILED]: cannot record the prompts in job database ${db}: database or disk is full`);
    expect(result.stderr).toContain('; then run the same command again');
    expect((await runCliInProcess(command, { env })).code).toBe(0);
    expect(readdirSync(home).filter((file) => file.includes('.sqlite'))).toEqual([]);
  });
});
