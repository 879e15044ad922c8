import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SHARD_COUNT_VARIABLE } from '../../src/prompts/scheduler-shard.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { repoRoot } from '../helpers/sim-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
let input: string;
let whole: string;
let single: string;
const home = (): string => path.join(dir, 'shared-home');
/** What a Slurm array task of --array=5-7 sees (three tasks, ids not starting at 1). */
const slurmTask = (id: number): Record<string, string> => ({ BATCH_HOME: home(), SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: '5', SLURM_ARRAY_TASK_MAX: '7', SLURM_ARRAY_TASK_COUNT: '3' });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-shard-auto-'));
  sim = await startSimServer({ flavour: 'openai', slots: 8, serviceMs: 1, reproducibleAnswers: true });
  input = path.join(dir, 'prompts.jsonl');
  writePrompts(input, 60, 'q');
  single = path.join(dir, 'single.jsonl');
  const run = await runCliInProcess(['run', input, '--server', sim.url, '--out', single, '--json', '--quiet'], { env: { BATCH_HOME: path.join(dir, 'single-home') } });
  expect(run.code).toBe(0);
  whole = (JSON.parse(run.stdout) as { job: string }).job;
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

let arrayTasks: Promise<{ jobs: string[]; notices: string[]; requests: number; byPrompt: Record<string, number> }> | undefined;
/** The three array tasks every test here builds on, run once, whichever test asks first (tests may run shuffled). */
function runArrayTasks(): NonNullable<typeof arrayTasks> {
  arrayTasks ??= (async () => {
    sim.resetStats();
    const jobs: string[] = [];
    const notices: string[] = [];
    for (const id of [5, 6, 7]) {
      const run = await runCliInProcess(['run', input, '--server', sim.url, '--shard', 'auto', '--json'], { env: slurmTask(id) });
      expect(run.code).toBe(0);
      notices.push(run.stderr);
      jobs.push((JSON.parse(run.stdout) as { job: string }).job);
    }
    return { jobs, notices, requests: sim.stats().requests, byPrompt: sim.stats().byPrompt };
  })();
  return arrayTasks;
}

describe('--shard auto and an export of a folder of shards', () => {
  it('three Slurm array tasks each run their own shard; the folder they wrote exports as the single run', async () => {
    const { jobs, requests, byPrompt, notices } = await runArrayTasks();
    for (const id of [5, 6, 7]) expect(notices[id - 5]).toContain(`shard ${id - 4}/3 (Slurm array task ${id} of 5-7)`);
    expect(jobs).toEqual([1, 2, 3].map((k) => `${whole}.shard-${k}-of-3`));
    expect(requests).toBe(60);
    expect(Object.values(byPrompt).every((n) => n === 1)).toBe(true);

    // The merge step: the shared folder, or a glob, from anywhere.
    const elsewhere = { BATCH_HOME: path.join(dir, 'elsewhere') };
    const fromFolder = await runCliInProcess(['export', whole, '--db', home()], { env: elsewhere });
    expect(fromFolder.code).toBe(0);
    expect(fromFolder.stdout).toBe(readFileSync(single, 'utf8'));
    // The pattern also matches the shards' output files: only the databases are read.
    const fromGlob = await runCliInProcess(['export', whole, '--db', `${home()}/${whole}.shard-*`], { env: elsewhere });
    expect(fromGlob.code).toBe(0);
    expect(fromGlob.stdout).toBe(readFileSync(single, 'utf8'));
  });

  it('a requeued task (the same command again) continues its shard and sends nothing twice', async () => {
    await runArrayTasks();
    sim.resetStats();
    const again = await runCliInProcess(['run', input, '--server', sim.url, '--shard', 'auto', '--json', '--quiet'], { env: slurmTask(6) });
    expect(again.code).toBe(0);
    expect(sim.stats().requests).toBe(0);
  });

  it('the pods of examples/k8s/indexed-job.yaml each run their shard from the variables the Job gives them, and merge-job.yaml merges the folder', async () => {
    type Container = { command: string[]; env?: Array<{ name: string; value: string }> };
    const indexed = parseYaml(readFileSync(path.join(repoRoot, 'examples/k8s/indexed-job.yaml'), 'utf8')) as { spec: { completionMode: string; completions: number; template: { spec: { containers: Container[] } } } };
    const merge = parseYaml(readFileSync(path.join(repoRoot, 'examples/k8s/merge-job.yaml'), 'utf8')) as { spec: { template: { spec: { containers: Container[] } } } };
    expect(indexed.spec.completionMode).toBe('Indexed');
    const container = indexed.spec.template.spec.containers[0]!;
    const command = container.command;
    expect(command.slice(0, 3)).toEqual(['npx', 'batch', 'run']);
    expect(command[command.indexOf('--shard') + 1]).toBe('auto');
    const variables = Object.fromEntries((container.env ?? []).map((entry) => [entry.name, entry.value]));
    expect(Number(variables[SHARD_COUNT_VARIABLE])).toBe(indexed.spec.completions);
    const job = command[command.indexOf('--job') + 1]!;
    const mergeCommand = merge.spec.template.spec.containers[0]!.command;
    expect(mergeCommand.slice(0, 4)).toEqual(['npx', 'batch', 'export', job]);
    expect(mergeCommand[mergeCommand.indexOf('--db') + 1]).toBe(variables.BATCH_HOME);

    // Kubernetes sets JOB_COMPLETION_INDEX in each pod (0 … completions-1); the rest is the YAML's.
    sim.resetStats();
    const podHome = path.join(dir, 'k8s-home');
    for (let index = 0; index < indexed.spec.completions; index++) {
      const env = { BATCH_HOME: podHome, JOB_COMPLETION_INDEX: String(index), [SHARD_COUNT_VARIABLE]: variables[SHARD_COUNT_VARIABLE]! };
      const run = await runCliInProcess(['run', input, '--server', sim.url, '--job', job, '--shard', 'auto', '--quiet'], { env });
      expect(run.code).toBe(0);
    }
    expect(sim.stats().requests).toBe(60);
    const merged = await runCliInProcess(['export', job, '--db', podHome]);
    expect(merged.code).toBe(0);
    expect(merged.stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { custom_id: string }).custom_id)).toEqual(Array.from({ length: 60 }, (_, i) => `q${i}`));
  });

  it('refuses a folder or glob that holds no shard of the job, and --shard auto outside a scheduler', async () => {
    const emptyFolder = mkdtempSync(path.join(dir, 'empty-'));
    const folder = await runCliInProcess(['export', whole, '--db', emptyFolder]);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain(`a folder with no shard database of job "${whole}"`);
    const glob = await runCliInProcess(['export', whole, '--db', `${emptyFolder}/*.sqlite`]);
    expect(glob.stderr).toContain('matches no job database');
    const outside = await runCliInProcess(['run', input, '--server', sim.url, '--shard', 'auto'], { env: { BATCH_HOME: home() } });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('found no scheduler');
  });
});
