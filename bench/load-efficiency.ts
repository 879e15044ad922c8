/**
 * Issue 11's efficiency target: 10,000 prompts, 32 slots x 50 ms, start-up included. `batch run`
 * (spawned as a user runs it: reading, checkpoints, output) and `wrk` (a raw load generator, from
 * Debian) against the same simulated llama-server in one run. Efficiency is the ideal over the
 * real: for batch, the ideal wall time (prompts / slots x service time) over its wall time; for
 * wrk, its requests/s over the ideal rate (slots / service time).
 * Target: batch's efficiency at least 0.97x wrk's.
 * Usage: npm run bench:efficiency [-- --count 10000 --slots 32 --service-ms 50]
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { startSimProcess } from '../test/helpers/sim-process.js';
import { machine, printTable, printTarget, timeBatch, writePromptFile } from './bench-kit.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '10000' }, slots: { type: 'string', default: '32' }, 'service-ms': { type: 'string', default: '50' }, wrk: { type: 'string', default: '/usr/bin/wrk' } } });
const count = Number(values.count);
const slots = Number(values.slots);
const serviceMs = Number(values['service-ms']);
const wrk = values.wrk;
const target = `${count} prompts, ${slots} slots x ${serviceMs} ms, start-up included: efficiency vs wrk`;
if (!existsSync(wrk)) {
  console.log(`bench/load-efficiency: skipped, no wrk at ${wrk} (apt-get install wrk, or pass --wrk PATH)`);
  process.exit(0);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-efficiency-'));
const input = path.join(dir, 'prompts.jsonl');
writePromptFile(input, count);
// The same request body batch sends for a prompt of the file.
const script = path.join(dir, 'post.lua');
writeFileSync(
  script,
  [
    'wrk.method = "POST"',
    `wrk.body = '${JSON.stringify({ messages: [{ role: 'user', content: 'prompt 1' }], max_tokens: 16 })}'`,
    'wrk.headers["Content-Type"] = "application/json"',
    '',
  ].join('\n'),
);

const idealMs = (count / slots) * serviceMs;
const idealRate = (slots * 1000) / serviceMs;
let wrkRate = 0;
let batchMs = 0;
const sim = await startSimProcess(['--slots', String(slots), '--service-ms', String(serviceMs)]);
try {
  // As long as batch's ideal run, with as many connections as batch has workers.
  const seconds = Math.max(1, Math.round(idealMs / 1000));
  const { stdout } = await promisify(execFile)(wrk, ['-t', '2', '-c', String(slots), '-d', `${seconds}s`, '-s', script, `${sim.url}/v1/chat/completions`]);
  const match = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout);
  if (match === null || non2xx !== null) throw new Error(`wrk said:\n${stdout}`);
  wrkRate = Number(match[1]);
  batchMs = await timeBatch(['run', input, '--server', sim.url, '--server-type', 'llama-server', '--workers', String(slots), '--quiet'], { BATCH_HOME: path.join(dir, 'home') });
} finally {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}

const wrkEfficiency = wrkRate / idealRate;
const batchEfficiency = idealMs / batchMs;
console.log(`bench/load-efficiency: ${target}; ideal ${(idealMs / 1000).toFixed(2)} s, ${idealRate.toFixed(0)} req/s; ${machine()}`);
printTable(
  ['side', 'req/s', 'wall s', 'efficiency'],
  [
    ['wrk (raw load generator)', wrkRate.toFixed(0), '-', `${(wrkEfficiency * 100).toFixed(1)}%`],
    ['batch run (start-up, checkpoints, output)', ((count / batchMs) * 1000).toFixed(0), (batchMs / 1000).toFixed(2), `${(batchEfficiency * 100).toFixed(1)}%`],
  ],
);
const ratio = batchEfficiency / wrkEfficiency;
printTarget({
  target,
  batch: `${(batchEfficiency * 100).toFixed(1)}%`,
  peer: `${(wrkEfficiency * 100).toFixed(1)}%`,
  measured: `${ratio.toFixed(3)}x`,
  goal: '>= 0.97x',
  met: ratio >= 0.97,
});
