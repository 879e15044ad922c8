/**
 * Time to the first request, and peak memory, of `batch run` over one OpenAI Batch file: 100
 * prompts against 100,000 (issue 11 targets: the first request at 100,000 within 1.5x of the time
 * at 100; peak RSS under 128 MB at 100,000). `batch` runs as its own process, started as a user
 * types it; the simulated server (0 ms service) is in this process and notes when the first
 * request arrives. Best (lowest) of `--rounds` per size. Prints a table; BENCHMARKS.md records it.
 * Usage: npm run bench:first-request [-- --small 100 --large 100000 --rounds 3 --slots 32 --rss-goal-mb 128 --bin other/bin/batch.js
 *        --node-flags='--max-semi-space-size=4']
 * (`--rss-goal-mb 80` is issue 23's memory goal.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machine, printTable, printTarget } from './bench-kit.js';
import { measureBatchRun, writeOpenAiBatchFile, type BatchRunMeasure } from './measure-batch-run.js';

const { values } = parseArgs({
  options: { small: { type: 'string', default: '100' }, large: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' }, slots: { type: 'string', default: '32' }, 'rss-goal-mb': { type: 'string', default: '128' }, bin: { type: 'string' }, 'node-flags': { type: 'string', default: '' } },
});
const sizes = [Number(values.small), Number(values.large)];
const rounds = Number(values.rounds);
const slots = Number(values.slots);
const rssGoalMb = Number(values['rss-goal-mb']);
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-first-request-'));

try {
  const best: BatchRunMeasure[] = [];
  for (const size of sizes) {
    const input = path.join(dir, `prompts-${size}.jsonl`);
    writeOpenAiBatchFile(input, size);
    const runs: BatchRunMeasure[] = [];
    for (let round = 0; round < rounds; round++) runs.push(await measureBatchRun({ input, dir, slots, bin: values.bin, nodeFlags: values['node-flags'].split(' ').filter(Boolean) }));
    best.push({
      firstRequestMs: Math.min(...runs.map((r) => r.firstRequestMs)),
      wallMs: Math.min(...runs.map((r) => r.wallMs)),
      peakRssMb: Math.min(...runs.map((r) => r.peakRssMb)),
      samples: [],
    });
    const spread = (pick: (r: BatchRunMeasure) => number, digits: number) => runs.map((r) => pick(r).toFixed(digits)).join(', ');
    console.error(`bench/first-request: ${size} prompts: first request ${spread((r) => r.firstRequestMs / 1000, 2)} s; peak RSS ${spread((r) => r.peakRssMb, 0)} MB`);
  }
  const [small, large] = best as [BatchRunMeasure, BatchRunMeasure];
  const ratio = large.firstRequestMs / small.firstRequestMs;
  console.log(`bench/first-request: OpenAI Batch file, simulated llama-server (0 ms, ${slots} slots) in the bench process, --workers ${slots}; best of ${rounds}; ${machine()}`);
  printTable(
    ['prompts', 'first request s', 'peak RSS MB', 'wall s'],
    [small, large].map((m, i) => [String(sizes[i]), (m.firstRequestMs / 1000).toFixed(2), m.peakRssMb.toFixed(0), (m.wallMs / 1000).toFixed(2)]),
  );
  printTarget({
    target: `time to first request: ${sizes[1]} prompts vs ${sizes[0]}`,
    batch: `${(large.firstRequestMs / 1000).toFixed(2)} s`,
    peer: `${(small.firstRequestMs / 1000).toFixed(2)} s`,
    measured: `${ratio.toFixed(2)}x`,
    goal: '<= 1.5x',
    met: ratio <= 1.5,
  });
  printTarget({
    target: `peak RSS at ${sizes[1]} prompts (peer: OpenAI cookbook's streaming processor, from the issue)`,
    batch: `${large.peakRssMb.toFixed(0)} MB`,
    peer: '~30 MB',
    measured: `${large.peakRssMb.toFixed(0)} MB`,
    goal: `< ${rssGoalMb} MB`,
    met: large.peakRssMb < rssGoalMb,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
