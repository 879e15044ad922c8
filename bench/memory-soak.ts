/**
 * Whether memory stays flat: one `batch run` over 200,000 prompts (OpenAI Batch file), its RSS
 * read each time the simulated server has received another 20,000 requests (issue 11 target:
 * growth under 20 MB from 20,000 to 200,000). Prints a table; BENCHMARKS.md records it.
 * Usage: npm run bench:soak [-- --count 200000 --every 20000 --slots 32 --bin other/bin/batch.js]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { measureBatchRun, printTable, writeOpenAiBatchFile } from './measure-batch-run.js';

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
  console.log(`bench/memory-soak: ${count} prompts, RSS of the batch process every ${every} requests; simulated llama-server (0 ms, ${slots} slots); node ${process.version}, ${os.cpus().length} CPUs`);
  printTable(
    ['requests', 'RSS MB', `growth since ${firstSample?.requests ?? '-'}`],
    measure.samples.map((s) => [String(s.requests), s.rssMb.toFixed(1), firstSample ? `${(s.rssMb - firstSample.rssMb).toFixed(1)} MB` : '-']),
  );
  const last = measure.samples.at(-1);
  console.log(`growth ${firstSample?.requests}..${last?.requests}: ${firstSample && last ? (last.rssMb - firstSample.rssMb).toFixed(1) : '?'} MB (target < 20 MB); peak RSS ${measure.peakRssMb.toFixed(0)} MB; wall ${(measure.wallMs / 1000).toFixed(1)} s`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
