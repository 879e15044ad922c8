import { writePrompts } from '../helpers/write-prompts.js';
import { pollUntil } from '../helpers/poll-until.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simAnswer, startSimServer, type SimServer } from '../sim/sim-server.js';
import { parseJsonl, runCliProcess, startCliProcess } from '../helpers/run-cli-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-resume-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkpoints and resume', () => {
  let sim: SimServer;
  afterAll(async () => sim?.close());

  it('survives three SIGKILLs: 2,000 prompts end with exactly 2,000 correct results, re-sending only the in-flight and uncommitted', async () => {
    sim = await startSimServer({ slots: 16, serviceMs: 3 });
    const file = path.join(dir, 'five-k.jsonl');
    writePrompts(file, 2000, 'k');
    const env = { BATCH_HOME: path.join(dir, 'home-kill') };
    const out = path.join(dir, 'five-k.out.jsonl');
    const args = ['run', file, '--server', sim.url, '--workers', '16', '--out', out, '--quiet'];
    for (const killAt of [400, 1000, 1600]) {
      const run = startCliProcess(args, { env });
      await pollUntil(() => sim.stats().completed >= killAt, `${killAt} completions`);
      run.child.kill('SIGKILL');
      const result = await run.done;
      expect(result.signal).toBe('SIGKILL');
    }
    const final = await runCliProcess(args, { env });
    expect(final.code).toBe(0);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(2000);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(2000);
    for (const line of lines) expect(line.response.body.choices[0].message.content).toBe(simAnswer(`k prompt ${line.custom_id.slice(1)}`));
    const stats = sim.stats();
    const resent = Object.values(stats.byPrompt).reduce((a, n) => a + (n - 1), 0);
    // Each kill may lose at most the requests in flight (16) and the uncommitted window (≤ 500 results).
    expect(resent).toBeLessThanOrEqual(3 * (16 + 500));
    expect(stats.requests).toBe(2000 + resent);
    // The database opens cleanly and agrees.
    const db = new Database(path.join(env.BATCH_HOME, readdirSync(env.BATCH_HOME).find((f) => f.endsWith('.sqlite'))!), { readonly: true });
    expect(db.prepare("select count(*) as n from items where status = 'done'").get()).toEqual({ n: 2000 });
    expect((db.prepare('select count(*) as n from runs').get() as { n: number }).n).toBe(4);
    db.close();
  });

  it('refuses a second owner of a running job with its pid, and takes over a dead owner\'s lock', async () => {
    const server = await startSimServer({ slots: 2, script: () => 'hang' });
    try {
      const file = path.join(dir, 'locked.jsonl');
      writePrompts(file, 4, 'l');
      const env = { BATCH_HOME: path.join(dir, 'home-lock') };
      const first = startCliProcess(['run', file, '--server', server.url, '--job', 'locked', '--grace', '0'], { env });
      await pollUntil(() => server.stats().inFlight >= 2, 'the first run to start');
      const second = await runCliProcess(['run', file, '--server', server.url, '--job', 'locked'], { env });
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/JOB_LOCKED/);
      expect(second.stderr).toContain(`pid ${first.child.pid}`);
      first.child.kill('SIGKILL');
      await first.done;
      const third = startCliProcess(['resume', 'locked', '--grace', '0'], { env });
      await third.waitFor(/taking over/);
      third.child.kill('SIGINT');
      expect((await third.done).code).toBe(130);
    } finally {
      await server.close();
    }
  });

});
