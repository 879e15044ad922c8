import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simAnswer, startSimServer, type SimServer } from '../sim/sim-server.js';
import { parseJsonl, runCli, startCli } from '../helpers/run-cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-resume-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Polls an external condition (another process's progress), bounded. */
async function until(condition: () => boolean, what: string, tries = 3000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function writePrompts(file: string, count: number, prefix: string): void {
  writeFileSync(file, Array.from({ length: count }, (_, i) => JSON.stringify({ id: `${prefix}${i}`, prompt: `${prefix} prompt ${i}` })).join('\n') + '\n');
}

describe('checkpoints and resume', () => {
  let sim: SimServer;
  afterAll(async () => sim?.close());

  it('survives three SIGKILLs: 5,000 prompts end with exactly 5,000 correct results, re-sending only the in-flight and uncommitted', async () => {
    sim = await startSimServer({ slots: 16, serviceMs: 3 });
    const file = path.join(dir, 'five-k.jsonl');
    writePrompts(file, 5000, 'k');
    const env = { BATCH_HOME: path.join(dir, 'home-kill') };
    const out = path.join(dir, 'five-k.out.jsonl');
    const args = ['run', file, '--server', sim.url, '--workers', '16', '--out', out, '--quiet'];
    for (const killAt of [800, 2200, 3600]) {
      const run = startCli(args, { env });
      await until(() => sim.stats().completed >= killAt, `${killAt} completions`);
      run.child.kill('SIGKILL');
      const result = await run.done;
      expect(result.signal).toBe('SIGKILL');
    }
    const final = await runCli(args, { env });
    expect(final.code).toBe(0);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(5000);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(5000);
    for (const line of lines) expect(line.response.body.choices[0].message.content).toBe(simAnswer(`k prompt ${line.custom_id.slice(1)}`));
    const stats = sim.stats();
    const resent = Object.values(stats.byPrompt).reduce((a, n) => a + (n - 1), 0);
    // Each kill may lose at most the requests in flight (16) and the uncommitted window (≤ 500 results).
    expect(resent).toBeLessThanOrEqual(3 * (16 + 500));
    expect(stats.requests).toBe(5000 + resent);
    // The database opens cleanly and agrees.
    const db = new Database(path.join(env.BATCH_HOME, readdirSync(env.BATCH_HOME).find((f) => f.endsWith('.sqlite'))!), { readonly: true });
    expect(db.prepare("select count(*) as n from items where status = 'done'").get()).toEqual({ n: 5000 });
    expect((db.prepare('select count(*) as n from runs').get() as { n: number }).n).toBe(4);
    db.close();
  });

  it('Ctrl-C stops dispatching, aborts after the grace period, exits 130 with the resume command; resume completes', async () => {
    // The first 4 requests hang, so only the grace period can end them.
    const server = await startSimServer({ slots: 4, script: (n) => (n <= 4 ? 'hang' : 'ok') });
    try {
      const file = path.join(dir, 'ctrlc.jsonl');
      writePrompts(file, 40, 'c');
      const env = { BATCH_HOME: path.join(dir, 'home-ctrlc') };
      const run = startCli(['run', file, '--server', server.url, '--workers', '4', '--grace', '1', '--job', 'nightly'], { env });
      await until(() => server.stats().inFlight >= 4, 'four hanging requests');
      run.child.kill('SIGINT');
      const result = await run.done;
      expect(result.code).toBe(130);
      expect(result.stdout).toContain('batch resume nightly');
      expect(server.stats().requests).toBe(4);
      const resumed = await runCli(['resume', 'nightly', '--quiet'], { env });
      expect(resumed.code).toBe(0);
      const lines = parseJsonl(readFileSync(path.join(env.BATCH_HOME, 'nightly.output.jsonl'), 'utf8'));
      expect(lines.map((l) => l.custom_id)).toEqual(Array.from({ length: 40 }, (_, i) => `c${i}`));
    } finally {
      await server.close();
    }
  });

  it('refuses a second owner of a running job with its pid, and takes over a dead owner\'s lock', async () => {
    const server = await startSimServer({ slots: 2, script: () => 'hang' });
    try {
      const file = path.join(dir, 'locked.jsonl');
      writePrompts(file, 4, 'l');
      const env = { BATCH_HOME: path.join(dir, 'home-lock') };
      const first = startCli(['run', file, '--server', server.url, '--job', 'locked', '--grace', '0'], { env });
      await until(() => server.stats().inFlight >= 2, 'the first run to start');
      const second = await runCli(['run', file, '--server', server.url, '--job', 'locked'], { env });
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/JOB_LOCKED/);
      expect(second.stderr).toContain(`pid ${first.child.pid}`);
      first.child.kill('SIGKILL');
      await first.done;
      const third = startCli(['resume', 'locked', '--grace', '0'], { env });
      await third.waitFor(/taking over/);
      third.child.kill('SIGINT');
      expect((await third.done).code).toBe(130);
    } finally {
      await server.close();
    }
  });

  it('never writes the API key to the database, the output, the logs or the terminal', async () => {
    const secret = 'sk-test-ab12cd34ef56-very-secret';
    const server = await startSimServer({ apiKey: secret });
    try {
      const file = path.join(dir, 'secret.jsonl');
      writePrompts(file, 20, 's');
      const env = { BATCH_HOME: path.join(dir, 'home-secret'), MY_KEY: secret };
      const result = await runCli(['run', file, '--server', server.url, '--api-key-env', 'MY_KEY', '--json'], { env });
      expect(result.code).toBe(0);
      expect(server.stats().authorizationSeen).toBe(true);
      expect(result.stdout + result.stderr).not.toContain(secret);
      for (const name of readdirSync(env.BATCH_HOME, { recursive: true }) as string[]) {
        const full = path.join(env.BATCH_HOME, name);
        if (existsSync(full) && !name.endsWith('.logs')) {
          try {
            expect(readFileSync(full).includes(secret)).toBe(false);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
          }
        }
      }
      const missing = await runCli(['run', file, '--server', server.url, '--api-key-env', 'NOT_SET_ANYWHERE'], { env: { BATCH_HOME: path.join(dir, 'home-no-key') } });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('NOT_SET_ANYWHERE');
    } finally {
      await server.close();
    }
  });

  it('exits 3 with a clear message when the job database cannot be created', async () => {
    const file = path.join(dir, 'nodb.jsonl');
    writePrompts(file, 1, 'n');
    // A file where the database's folder should be: the folder cannot be created.
    const blocker = path.join(dir, 'not-a-folder');
    writeFileSync(blocker, '');
    const db = path.join(blocker, 'job.sqlite');
    const result = await runCli(['run', file, '--server', 'http://127.0.0.1:9', '--db', db]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/STORE_UNAVAILABLE/);
    expect(result.stderr).toContain(db);
  });
});
