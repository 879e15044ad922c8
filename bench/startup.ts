/**
 * Issue 11's start-up target: `batch --help` within 1.3x of `node -e 0`. Both are spawned in
 * turn, N times each; the table shows the median and fastest wall time of each.
 * Usage: npm run bench:startup [-- --runs 40]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { batchBin, machine, median, printTable, printTarget } from './bench-kit.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' } } });
const runs = Number(values.runs);
const sides = [
  { name: 'node -e 0', command: process.execPath, args: ['-e', '0'] },
  // As a user's shell runs it: the bin itself (/bin/sh execs node; --help gets no V8 flags).
  { name: 'batch --help', command: batchBin, args: ['--help'] },
] as const;
const times: number[][] = sides.map(() => []);
for (let run = 0; run < runs; run++) {
  sides.forEach((side, i) => {
    const started = performance.now();
    const result = spawnSync(side.command, side.args, { stdio: 'ignore' });
    if (result.status !== 0) throw new Error(`${side.name} exited ${result.status}`);
    times[i]!.push(performance.now() - started);
  });
}
console.log(`bench/startup: ${runs} runs each, alternating; ${machine()}`);
printTable(
  ['command', 'median ms', 'fastest ms'],
  sides.map((side, i) => [side.name, median(times[i]!).toFixed(1), Math.min(...times[i]!).toFixed(1)]),
);
const ratio = median(times[1]!) / median(times[0]!);
printTarget({
  target: 'start-up: batch --help vs node -e 0 (median wall)',
  batch: `${median(times[1]!).toFixed(1)} ms`,
  peer: `${median(times[0]!).toFixed(1)} ms`,
  measured: `${ratio.toFixed(2)}x`,
  goal: '<= 1.30x',
  met: ratio <= 1.3,
});
