/**
 * Issue 23's start-up row: a one-prompt job with `--server` to a running server, from the spawn of
 * `batch run` (as a user types it: no `--server-type`, so batch asks the server what it is) to the
 * first completion request the server receives. The simulated llama-server (0 ms) runs in this
 * process and notes the request's arrival; a fresh BATCH_HOME each round. Median of `--rounds`.
 * Goal: at most 0.25 s.
 * Usage: npm run bench:one-prompt [-- --rounds 9 --bin other/bin/batch.js]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machine, median, printTable, printTarget } from './bench-kit.js';
import { measureBatchRun, writeOpenAiBatchFile, type BatchRunMeasure } from './measure-batch-run.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '9' }, bin: { type: 'string' } } });
const rounds = Number(values.rounds);
const goalMs = 250;
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-one-prompt-'));

try {
  const input = path.join(dir, 'one.jsonl');
  writeOpenAiBatchFile(input, 1);
  const runs: BatchRunMeasure[] = [];
  for (let round = 0; round < rounds; round++) runs.push(await measureBatchRun({ input, dir, slots: 1, bin: values.bin, detectServer: true }));
  const first = runs.map((r) => r.firstRequestMs);
  const wall = runs.map((r) => r.wallMs);
  console.log(`bench/one-prompt: one prompt, --server to the simulated llama-server (0 ms) in the bench process, server type detected; ${rounds} rounds; ${machine()}`);
  printTable(
    ['measure', 'median', 'lowest', 'highest'],
    [
      ['spawn to first request', (median(first) / 1000).toFixed(3), (Math.min(...first) / 1000).toFixed(3), (Math.max(...first) / 1000).toFixed(3)],
      ['spawn to exit (answer committed, summary printed)', (median(wall) / 1000).toFixed(3), (Math.min(...wall) / 1000).toFixed(3), (Math.max(...wall) / 1000).toFixed(3)],
      ['peak RSS, MB (what any run costs)', median(runs.map((r) => r.peakRssMb)).toFixed(1), Math.min(...runs.map((r) => r.peakRssMb)).toFixed(1), Math.max(...runs.map((r) => r.peakRssMb)).toFixed(1)],
    ],
  );
  printTarget({
    target: 'one-prompt job with --server to a running server: spawn to first request (median)',
    batch: `${(median(first) / 1000).toFixed(3)} s`,
    peer: '-',
    measured: `${(median(first) / 1000).toFixed(3)} s`,
    goal: `<= ${(goalMs / 1000).toFixed(2)} s`,
    met: median(first) <= goalMs,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
