import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../helpers/poll-until.js';
import { runCliInProcess, startCliInProcess } from '../../helpers/run-cli-in-process.js';
import { writePrompts } from '../../helpers/write-prompts.js';
import { startSimServer } from '../../sim/sim-server.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-app-locate-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a bare `batch resume` with a file in the batch home that is not a job database', () => {
  it('passes over it, as `batch jobs` does, says so, and resumes the interrupted job', async () => {
    const server = await startSimServer({ slots: 2, script: (n) => (n <= 2 ? 'hang' : 'ok') });
    try {
      const home = path.join(dir, 'home');
      mkdirSync(home);
      const junk = path.join(home, 'aaa-junk.sqlite');
      writeFileSync(junk, 'this is not a database, just a file with the suffix');
      const env = { BATCH_HOME: home };
      const file = path.join(dir, 'in.jsonl');
      writePrompts(file, 6, 'p', () => ({ max_tokens: 4 }));
      const run = startCliInProcess(['run', file, '--server', server.url, '--workers', '2', '--job', 'real', '-q'], { env });
      await pollUntil(() => server.stats().inFlight >= 2, 'two hanging requests');
      run.softStop();
      run.hardStop();
      expect((await run.done).code).toBe(130);

      const jobs = await runCliInProcess(['jobs'], { env });
      expect(jobs.stderr).toContain(`skipping ${junk}: `);
      const resumed = await runCliInProcess(['resume', '--json'], { env });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toContain(`skipping ${junk}: `);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ job: 'real', done: 6 });
      // With nothing left to resume, the message still names the file it passed over.
      const nothing = await runCliInProcess(['resume'], { env });
      expect(nothing.code).toBe(2);
      expect(nothing.stderr).toContain(`[JOB_NOT_FOUND]: no unfinished job in ${home} (skipping ${junk}: `);
    } finally {
      await server.close();
    }
  });
});

describe("another program's SQLite database is never changed", () => {
  it('`batch resume NAME` on it: JOB_NOT_FOUND, and `run --db` on it: STORE_UNAVAILABLE, the file byte for byte as it was', async () => {
    const { default: Database } = await import('better-sqlite3');
    const home = path.join(dir, 'foreign-home');
    mkdirSync(home);
    const foreign = path.join(home, 'other.sqlite');
    const db = new Database(foreign);
    db.exec('create table t(x); insert into t values (1)');
    db.close();
    const before = readFileSync(foreign);
    const resumed = await runCliInProcess(['resume', 'other'], { env: { BATCH_HOME: home } });
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain(`[JOB_NOT_FOUND]: no job "other": cannot open job database ${foreign}: it is another program's SQLite database (tables t), not a batch job database`);
    const input = path.join(dir, 'foreign.jsonl');
    writePrompts(input, 2, 'f');
    const run = await runCliInProcess(['run', input, '--server', 'http://127.0.0.1:9', '--db', foreign, '-q'], { env: { BATCH_HOME: home } });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("it is another program's SQLite database (tables t), which batch will not change");
    expect(readFileSync(foreign).equals(before)).toBe(true);
  });
});

describe('stdin', () => {
  it('each run that reads only stdin is a job of its own: a second stdin run leaves the first one\'s answers and output alone', async () => {
    const server = await startSimServer({ flavour: 'openai', slots: 2 });
    try {
      const home = path.join(dir, 'stdin-home');
      const first = await runCliInProcess(['run', '-', '--server', server.url, '--json', '-q'], { env: { BATCH_HOME: home }, input: `${JSON.stringify({ id: 'a', prompt: 'first' })}\n` });
      const second = await runCliInProcess(['run', '-', '--server', server.url, '--json', '-q'], { env: { BATCH_HOME: home }, input: `${JSON.stringify({ id: 'z', prompt: 'second' })}\n` });
      expect([first.code, second.code]).toEqual([0, 0]);
      const [one, two] = [JSON.parse(first.stdout), JSON.parse(second.stdout)] as Array<{ job: string; output: string; done: number }>;
      expect(one.job).toMatch(/^stdin-\d{8}-\d{6}-[0-9a-f]{4}$/);
      expect(two.job).not.toBe(one.job);
      expect(readFileSync(one.output, 'utf8')).toContain('"custom_id":"a"');
      expect([one.done, two.done]).toEqual([1, 1]);
    } finally {
      await server.close();
    }
  });
});
