/**
 * Issue 11's throughput target: at 0 ms service time, `batch run` (checkpoints on, output written)
 * against a bare keep-alive node:http Promise pool reading the same prompt file, both spawned as
 * processes (start-up included) against the same simulated llama-server, alternating, in one run.
 * Target: batch at least 0.9x the pool's requests/s (issue 11; issue 23 asks 0.8x: `--goal 0.8`).
 * Usage: npm run bench:throughput [-- --count 20000 --workers 32 --rounds 3 --goal 0.9]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startSimProcess } from '../test/helpers/sim-process.js';
import { machine, measureBatch, measureProcess, median, printTable, printTarget, root, writePromptFile, type MeasuredRun } from './bench-kit.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '20000' }, workers: { type: 'string', default: '32' }, rounds: { type: 'string', default: '3' }, goal: { type: 'string', default: '0.9' } } });
const count = Number(values.count);
const workers = Number(values.workers);
const rounds = Number(values.rounds);
const goal = Number(values.goal);
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-throughput-'));
const input = path.join(dir, 'prompts.jsonl');
writePromptFile(input, count);

const bareRuns: MeasuredRun[] = [];
const batchRuns: MeasuredRun[] = [];
const sim = await startSimProcess(['--slots', String(workers), '--service-ms', '0']);
try {
  for (let round = 0; round < rounds; round++) {
    bareRuns.push(await measureProcess([path.join(root, '.build/bench/bare-pool-main.js'), sim.url, String(count), String(workers), input]));
    batchRuns.push(
      await measureBatch(['run', input, '--server', sim.url, '--server-type', 'llama-server', '--workers', String(workers), '--quiet'], {
        BATCH_HOME: path.join(dir, `home-${round}`),
      }),
    );
  }
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}

const bare = bareRuns.map((run) => run.ms);
const batch = batchRuns.map((run) => run.ms);
const perSecond = (ms: number): number => (count / ms) * 1000;
// Best of the rounds: on a shared machine the slowest rounds measure the neighbours.
const bareBest = perSecond(Math.min(...bare));
const batchBest = perSecond(Math.min(...batch));
console.log(`bench/throughput: ${count} prompts, 0 ms service, ${workers} workers, best of ${rounds} alternating rounds; ${machine()}`);
printTable(
  ['side', ...bare.map((_, i) => `round ${i + 1} s`), 'best req/s'],
  [
    ['bare node:http pool', ...bare.map((ms) => (ms / 1000).toFixed(2)), bareBest.toFixed(0)],
    ['batch run (checkpoints, output)', ...batch.map((ms) => (ms / 1000).toFixed(2)), batchBest.toFixed(0)],
  ],
);
// Where the requests' CPU went: the main thread (event loop) apart from the other threads (the
// writer thread, V8's GC helpers), in microseconds per prompt, median of the rounds.
const cpuPerPrompt = (runs: readonly MeasuredRun[], part: 'mainMs' | 'allMs'): string => {
  const known = runs.flatMap((run) => (run.cpu === undefined ? [] : [run.cpu[part]]));
  return known.length === 0 ? 'n/a' : ((median(known) * 1000) / count).toFixed(0);
};
console.log('CPU per prompt (median of the rounds; from /proc, Linux only):');
printTable(
  ['side', 'main thread us', 'all threads us'],
  [
    ['bare node:http pool', cpuPerPrompt(bareRuns, 'mainMs'), cpuPerPrompt(bareRuns, 'allMs')],
    ['batch run (checkpoints, output)', cpuPerPrompt(batchRuns, 'mainMs'), cpuPerPrompt(batchRuns, 'allMs')],
  ],
);
const ratio = batchBest / bareBest;
printTarget({
  target: `0 ms service, ${count} prompts: requests/s vs a bare keep-alive node:http pool`,
  batch: `${batchBest.toFixed(0)} req/s`,
  peer: `${bareBest.toFixed(0)} req/s`,
  measured: `${ratio.toFixed(2)}x`,
  goal: `>= ${goal.toFixed(2)}x`,
  met: ratio >= goal,
});
