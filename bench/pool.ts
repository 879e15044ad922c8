/**
 * `batch run` against the ideal: 10,000 prompts through the simulated server (32 slots) at 50 ms
 * and at 0 ms service time, beside a bare keep-alive node:http pool, both spawned as processes so
 * that start-up is included. Prints a table; BENCHMARKS.md records it.
 * Usage: npm run bench:pool [-- --count 10000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startSimProcess } from '../test/helpers/sim-process.js';
import { root, timeProcess, writePromptFile } from './bench-kit.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '10000' }, slots: { type: 'string', default: '32' } } });
const count = Number(values.count);
const slots = Number(values.slots);
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-pool-'));

const input = path.join(dir, 'prompts.jsonl');
writePromptFile(input, count);

const rows: string[][] = [];
for (const serviceMs of [50, 0]) {
  const sim = await startSimProcess(['--slots', String(slots), '--service-ms', String(serviceMs)]);
  try {
    const bareMs = await timeProcess([path.join(root, '.build/bench/bare-pool-main.js'), sim.url, String(count), String(slots)]);
    const home = path.join(dir, `home-${serviceMs}`);
    const batchMs = await timeProcess(
      [path.join(root, 'bin/batch.js'), 'run', input, '--server', sim.url, '--server-type', 'llama-server', '--workers', String(slots), '--quiet', '--json'],
      { BATCH_HOME: home },
    );
    rows.push([
      `${serviceMs} ms`,
      String(count),
      (bareMs / 1000).toFixed(2),
      (batchMs / 1000).toFixed(2),
      ((count / bareMs) * 1000).toFixed(0),
      ((count / batchMs) * 1000).toFixed(0),
      `${((batchMs / bareMs - 1) * 100).toFixed(1)}%`,
      `${((bareMs / batchMs) * 100).toFixed(0)}%`,
    ]);
  } finally {
    await sim.close();
  }
}
rmSync(dir, { recursive: true, force: true });

const header = ['service', 'prompts', 'bare pool s', 'batch s', 'bare req/s', 'batch req/s', 'wall overhead', 'batch/bare req/s'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(`bench/pool: ${count} prompts, ${slots} slots, ${slots} workers, simulated llama-server in its own process; node ${process.version}, ${os.cpus().length} CPUs`);
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of rows) console.log(line(row));
