/**
 * Whether memory stays flat: one `batch run` over 200,000 prompts (OpenAI Batch file), its RSS
 * read each time the simulated server has received another 20,000 requests (issue 11 target:
 * growth under 20 MB from 20,000 to 200,000). Prints a table; BENCHMARKS.md records it.
 * Usage: npm run bench:memory-soak [-- --count 200000 --every 20000 --slots 32 --bin other/bin/batch.js]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machine, printTable, printTarget } from './bench-kit.js';
import { measureBatchRun, writeOpenAiBatchFile } from './measure-batch-run.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200000' }, every: { type: 'string', default: '20000' }, slots: { type: 'string', default: '32' }, bin: { type: 'string' } } });
const count = Number(values.count);
const every = Number(values.every);
const slots = Number(values.slots);
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-soak-'));

try {
  const input = path.join(dir, 'prompts.jsonl');
  writeOpenAiBatchFile(input, count);
  const measure = await measureBatchRun({ input, dir, slots, sampleEvery: every, bin: values.bin });
  const firstSample = measure.samples[0];
  console.log(`bench/memory-soak: ${count} prompts, RSS of the batch process every ${every} requests; simulated llama-server (0 ms, ${slots} slots); ${machine()}`);
  printTable(
    ['requests', 'RSS MB', `growth since ${firstSample?.requests ?? '-'}`],
    measure.samples.map((s) => [String(s.requests), s.rssMb.toFixed(1), firstSample ? `${(s.rssMb - firstSample.rssMb).toFixed(1)} MB` : '-']),
  );
  const last = measure.samples.at(-1);
  const growth = firstSample && last ? last.rssMb - firstSample.rssMb : Number.NaN;
  console.log(`peak RSS ${measure.peakRssMb.toFixed(0)} MB; wall ${(measure.wallMs / 1000).toFixed(1)} s`);
  printTarget({
    target: `RSS growth from ${firstSample?.requests ?? '?'} to ${last?.requests ?? '?'} prompts`,
    batch: `${growth.toFixed(1)} MB`,
    peer: '-',
    measured: `${growth.toFixed(1)} MB`,
    goal: '< 20 MB',
    met: growth < 20,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
