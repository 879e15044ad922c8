import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { connectionOf } from '../../src/store/connection-of.js';
import { jobDbPath, jobOutputPath } from '../../src/store/job-paths.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
let input: string;
const total = 40;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-power-cut-'));
  sim = await startSimServer({ flavour: 'openai', slots: 8, serviceMs: 1 });
  input = path.join(dir, 'prompts.jsonl');
  writePrompts(input, total, 'p');
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A finished job of `total` prompts in a batch home of its own. */
async function finishedJob(name: string): Promise<{ env: Record<string, string>; db: string; out: string }> {
  const home = path.join(dir, name);
  const env = { BATCH_HOME: home };
  const run = await runCliInProcess(['run', input, '--server', sim.url, '--job', name, '--quiet'], { env });
  expect(run.code, run.stderr).toBe(0);
  return { env, db: jobDbPath(home, name), out: jobOutputPath(home, name) };
}

/**
 * What a power cut that rolled back the database's last commits leaves: the last `lost` answers
 * are gone from it (pending again, as before they were committed), the job still recorded as run
 * by a process that no longer exists; the output file, written past those commits, keeps them.
 */
function loseLastCommits(db: string, lost: number): void {
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  const store = CheckpointStore.open({ path: db });
  connectionOf(store)
    .prepare(
      `UPDATE items SET status = 'pending', attempts = 0, response = NULL, answer = NULL, error_code = NULL, error_message = NULL,
         endpoint_url = NULL, served_model = NULL, prompt_tokens = NULL, completion_tokens = NULL, latency_ms = NULL, ttft_ms = NULL,
         started_at = NULL, finished_at = NULL
       WHERE rowid IN (SELECT rowid FROM items ORDER BY idx DESC LIMIT ?)`,
    )
    .run(lost);
  connectionOf(store).prepare(`UPDATE jobs SET state = 'running', lock_pid = ?, lock_host = ?`).run(dead, os.hostname());
  store.close();
}

/** `batch export` of the job, to stdout. */
async function exported(name: string, env: Record<string, string>): Promise<string> {
  const result = await runCliInProcess(['export', name], { env });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

describe('a power cut: the output file equals `batch export` after resume, whichever of the two kept more', () => {
  it('the output file kept answers the database lost: resume sends only those again and the file is rewritten to match', async () => {
    const { env, db, out } = await finishedJob('db-lost');
    const before = readFileSync(out, 'utf8');
    expect(parseJsonl(before)).toHaveLength(total);
    loseLastCommits(db, 5);
    sim.resetStats();
    const resumed = await runCliInProcess(['resume', 'db-lost', '--server', sim.url, '--quiet'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sim.stats().requests).toBe(5);
    const after = readFileSync(out, 'utf8');
    expect(after).toBe(await exported('db-lost', env));
    expect(parseJsonl(after).map((line) => line.custom_id)).toEqual(Array.from({ length: total }, (_, i) => `p${i}`));
  });

  it('the database kept answers the output file lost (its tail cut mid-line): resume completes the file, sending nothing', async () => {
    const { env, out } = await finishedJob('file-lost');
    const full = readFileSync(out);
    truncateSync(out, Math.floor(full.length * 0.7));
    sim.resetStats();
    const resumed = await runCliInProcess(['resume', 'file-lost', '--server', sim.url, '--quiet'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sim.stats().requests).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(await exported('file-lost', env));
    expect(readFileSync(out).equals(full)).toBe(true);
  });

  it('both lost something: the database its last commits, the file a torn tail of zeros (unwritten blocks)', async () => {
    const { env, db, out } = await finishedJob('both-lost');
    const full = readFileSync(out);
    writeFileSync(out, Buffer.concat([full.subarray(0, Math.floor(full.length * 0.9)), Buffer.alloc(4096)]));
    loseLastCommits(db, 8);
    sim.resetStats();
    const resumed = await runCliInProcess(['resume', 'both-lost', '--server', sim.url, '--quiet'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sim.stats().requests).toBe(8);
    expect(readFileSync(out, 'utf8')).toBe(await exported('both-lost', env));
  });
});
