import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineIdentity } from '../../../src/hardware/machine-identity.js';
import { CheckpointStore } from '../../../src/store/checkpoint-store.js';
import { closedPortUrl } from '../../helpers/closed-port-url.js';
import { runCliInProcess } from '../../helpers/run-cli-in-process.js';
import { startSimServer, type SimServer } from '../../sim/sim-server.js';

let dir: string;
let sim: SimServer;
let other: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-app-run-job-'));
  // The OpenAI flavour reports no slots, so saved advice is what sets the workers.
  sim = await startSimServer({ flavour: 'openai', slots: 4, serviceMs: 1 });
  other = await startSimServer({ flavour: 'openai', slots: 4, serviceMs: 1 });
});
afterAll(async () => {
  await Promise.all([sim?.close(), other?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

function fresh(name: string): { home: string; env: NodeJS.ProcessEnv; input: string } {
  const home = path.join(dir, name);
  mkdirSync(home, { recursive: true });
  const input = path.join(dir, `${name}.jsonl`);
  writeFileSync(input, Array.from({ length: 6 }, (_, i) => JSON.stringify({ id: `p${i}`, prompt: `question ${i}` })).join('\n') + '\n');
  return { home, env: { BATCH_HOME: home }, input };
}

function writeAdvice(home: string, machine: string, workers: number): void {
  const advice = { workers, maxModels: 1, slots: 1, contextSize: 512, threads: 1, savedAt: '2026-11-01T00:00:00.000Z', hardwareFingerprint: 'test', machine };
  writeFileSync(path.join(home, 'advice.json'), JSON.stringify(advice));
}

describe('a run refused before it sends anything leaves no job behind', () => {
  it('an input with no prompts: NO_PROMPTS, exit 2, no job and no database', async () => {
    const { home, env } = fresh('empty');
    const input = path.join(dir, 'empty.jsonl');
    writeFileSync(input, '\n\n');
    const result = await runCliInProcess(['run', input, '--server', sim.url, '-q'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('batch: error [NO_PROMPTS]: no prompts found in');
    expect(readdirSync(home)).toEqual([]);
    // So a bare resume finds nothing, instead of a 0/0 ghost it would fail on.
    const resumed = await runCliInProcess(['resume'], { env });
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain('[JOB_NOT_FOUND]: no unfinished job in');
  });

  it('an unreachable server: exit 3, no job left', async () => {
    const { home, env, input } = fresh('unreachable');
    const result = await runCliInProcess(['run', input, '--server', await closedPortUrl(), '-q'], { env });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('[SERVER_UNREACHABLE]');
    expect(readdirSync(home)).toEqual([]);
  });

  it('a refused run of an existing database keeps its other jobs and the file', async () => {
    const { home, env, input } = fresh('keeps');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'good', '-q'], { env })).code).toBe(0);
    const result = await runCliInProcess(['run', input, '--server', await closedPortUrl(), '--job', 'bad', '--db', path.join(home, 'good.sqlite'), '-q'], { env });
    expect(result.code).toBe(3);
    const store = CheckpointStore.open({ path: path.join(home, 'good.sqlite'), readonly: true });
    try {
      expect(store.listJobs().map((job) => job.name)).toEqual(['good']);
    } finally {
      store.close();
    }
  });

  it('a --model path that does not exist: MODEL_FILE_NOT_FOUND, exit 2 as README says, no job left', async () => {
    const { home, env, input } = fresh('missing-model');
    const result = await runCliInProcess(['run', input, '--model', path.join(dir, 'missing.gguf'), '-q'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`batch: error [MODEL_FILE_NOT_FOUND]: --model ${path.join(dir, 'missing.gguf')}: no such file`);
    expect(readdirSync(home)).toEqual([]);
  });

  it('a --model that is a folder or a device says what it is, not "no such file"', async () => {
    const { env, input } = fresh('model-not-a-file');
    const folder = await runCliInProcess(['run', input, '--model', dir, '-q'], { env });
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain(`batch: error [MODEL_FILE_NOT_FOUND]: --model ${dir}: ${dir} is a folder, not a file;`);
    const device = await runCliInProcess(['run', input, '--model', '/dev/null', '-q'], { env });
    expect(device.stderr).toContain('--model /dev/null: /dev/null is not a regular file;');
  });

  it('a missing input: no ./checkpoints folder is created in the working directory, nor a --db folder', async () => {
    const cwd = path.join(dir, 'cwd-missing-input');
    mkdirSync(cwd);
    const result = await runCliInProcess(['run', 'missing.jsonl', '--server', sim.url, '-q'], { cwd, env: { BATCH_HOME: undefined } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('[PROMPT_FILE_INVALID]');
    expect(readdirSync(cwd)).toEqual([]);
    const nested = await runCliInProcess(['run', 'missing.jsonl', '--server', sim.url, '--db', 'a/b/j.sqlite', '-q'], { cwd, env: { BATCH_HOME: undefined } });
    expect(nested.code).toBe(2);
    expect(readdirSync(cwd)).toEqual([]);
    // A folder that held something before is left as it was.
    mkdirSync(path.join(cwd, 'checkpoints'));
    writeFileSync(path.join(cwd, 'checkpoints', 'keep.txt'), 'x');
    expect((await runCliInProcess(['run', 'missing.jsonl', '--server', sim.url, '-q'], { cwd, env: { BATCH_HOME: undefined } })).code).toBe(2);
    expect(readdirSync(path.join(cwd, 'checkpoints'))).toEqual(['keep.txt']);
  });

  it('`batch resume nosuchjob` says so and creates no database', async () => {
    const { home, env } = fresh('nosuch');
    const result = await runCliInProcess(['resume', 'nosuchjob'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('[JOB_NOT_FOUND]: no job "nosuchjob"');
    expect(existsSync(path.join(home, 'nosuchjob.sqlite'))).toBe(false);
  });
});

describe('saved advice is used only on the machine it was planned for', () => {
  it('advice for another machine is not used, and the run says why', async () => {
    const { home, env, input } = fresh('advice-other');
    writeAdvice(home, 'linux-x64; A100 x128; 2048 GiB RAM', 32);
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--json'], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/was planned for "linux-x64; A100 x128; 2048 GiB RAM", not this one .*run `batch optimize` here/);
    expect(result.stderr).not.toContain('using the advice');
  });

  it('advice for this machine sets what no flag gives, and says so', async () => {
    const { home, env, input } = fresh('advice-here');
    writeAdvice(home, machineIdentity(), 1);
    sim.resetStats();
    const result = await runCliInProcess(['run', input, '--server', sim.url], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('using the advice of `batch optimize`');
    expect(result.stderr).toContain('--workers 1 (unless the servers report slots)');
    expect(sim.stats().maxConcurrent).toBe(1);
  });
});

describe('the job remembers the last settings given', () => {
  it('a later run that names another server is the one `batch resume` uses', async () => {
    const { env, input } = fresh('last-flags');
    writeFileSync(input, `${JSON.stringify({ id: 'doomed', prompt: 'doomed question' })}\n`, { flag: 'a' });
    const flaky = await startSimServer({ flavour: 'openai', serviceMs: 1, script: (_n, request) => (request.promptText.includes('doomed') ? '500' : undefined) });
    try {
      const first = await runCliInProcess(['run', input, '--server', flaky.url, '--job', 'moves', '--retries', '0', '-q'], { env });
      expect(first.code).toBe(4);
      // The same job again, now naming the other server: nothing is pending, but the job remembers it.
      expect((await runCliInProcess(['run', input, '--server', other.url, '--job', 'moves', '-q'], { env })).code).toBe(4);
      flaky.resetStats();
      other.resetStats();
      const resumed = await runCliInProcess(['resume', 'moves', '--retry-failed', '-q'], { env });
      expect(resumed.code).toBe(0);
      expect(other.stats().completed).toBe(1);
      expect(flaky.stats().requests).toBe(0);
    } finally {
      await flaky.close();
    }
  });
});

describe('--api-key-env', () => {
  it('names an empty variable as empty, and an unset one as not set', async () => {
    const { env, input } = fresh('key-env');
    const empty = await runCliInProcess(['run', input, '--server', sim.url, '--api-key-env', 'BATCH_TEST_KEY', '-q'], { env: { ...env, BATCH_TEST_KEY: '' } });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('the environment variable BATCH_TEST_KEY is empty; export it with the key');
    const unset = await runCliInProcess(['run', input, '--server', sim.url, '--api-key-env', 'BATCH_TEST_KEY_UNSET', '-q'], { env });
    expect(unset.stderr).toContain('the environment variable BATCH_TEST_KEY_UNSET is not set');
  });
});
