/**
 * Issue 22's measurement: 4 shards of one input run side by side on one machine (as 4 array tasks
 * would) against one run of the same prompts, both over the same simulated servers, and the merge
 * (`batch export --db FOLDER`) that puts the shards back together. Alternating rounds, in one run.
 * Usage: npm run bench:shards [-- --count 20000 --shards 4 --slots 32 --service-ms 5 --rounds 3]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startSimProcess } from '../test/helpers/sim-process.js';
import { batchBin, machine, median, printTable, timeProcess, writePromptFile } from './bench-kit.js';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '20000' }, shards: { type: 'string', default: '4' }, slots: { type: 'string', default: '32' }, 'service-ms': { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' } },
});
const count = Number(values.count);
const shards = Number(values.shards);
const slots = Number(values.slots);
const rounds = Number(values.rounds);
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-shards-'));
const input = path.join(dir, 'prompts.jsonl');
writePromptFile(input, count);

/** Runs `batch` to its end; rejects on a non-zero exit. */
function runBatch(args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [batchBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`batch ${args[0]} exited with ${code}`))));
  });
}

const single: number[] = [];
const sharded: number[] = [];
const merge: number[] = [];
// Each side gets the same servers: the slots are split between the shards as a cluster splits GPUs.
const sim = await startSimProcess(['--slots', String(slots), '--service-ms', String(values['service-ms'])]);
try {
  for (let round = 0; round < rounds; round++) {
    const common = ['--server', sim.url, '--server-type', 'llama-server', '--job', 'night', '--quiet'];
    single.push(await timeProcess([batchBin, 'run', input, ...common, '--workers', String(slots)], { BATCH_HOME: path.join(dir, `single-${round}`) }));
    const home = path.join(dir, `shards-${round}`);
    const started = performance.now();
    await Promise.all(Array.from({ length: shards }, (_, k) => runBatch(['run', input, ...common, '--workers', String(Math.max(1, Math.floor(slots / shards))), '--shard', `${k + 1}/${shards}`], { BATCH_HOME: home })));
    sharded.push(performance.now() - started);
    merge.push(await timeProcess([batchBin, 'export', 'night', '--db', home, '--out', path.join(dir, `merged-${round}.jsonl`)]));
  }
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2);
console.log(`bench/shards: ${count} prompts, ${slots} slots at ${values['service-ms']} ms, ${shards} shards vs one run, ${rounds} alternating rounds; ${machine()}`);
printTable(
  ['side', ...single.map((_, i) => `round ${i + 1} s`), 'median s', 'vs one run'],
  [
    ['one run of all prompts', ...single.map(seconds), seconds(median(single)), '1.00x'],
    [`${shards} shard runs at once`, ...sharded.map(seconds), seconds(median(sharded)), `${(median(sharded) / median(single)).toFixed(2)}x`],
    ['merge (export --db folder)', ...merge.map(seconds), seconds(median(merge)), `${(median(merge) / median(single)).toFixed(2)}x`],
    [`${shards} shards + merge`, ...sharded.map((ms, i) => seconds(ms + merge[i]!)), seconds(median(sharded.map((ms, i) => ms + merge[i]!))), `${(median(sharded.map((ms, i) => ms + merge[i]!)) / median(single)).toFixed(2)}x`],
  ],
);
