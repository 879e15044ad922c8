/**
 * What the checkpoint store costs: the same batch through the worker pool against a fast
 * simulated server (0 ms service), once with the SQLite store (ingest, lazy paging, group-committed
 * results) and once with a no-op store (prompts in memory, results dropped). Prints the ratio.
 * Usage: npm run bench:store [-- --count 20000 --workers 32 --rounds 3]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openBackend } from '../src/backends/open-backend.js';
import { readPrompts } from '../src/prompts/read-prompts.js';
import type { PromptItem } from '../src/prompts/prompt-item.js';
import { BatchScheduler, type ResultSink, type WorkSource } from '../src/scheduler/batch-scheduler.js';
import { StaticRouter } from '../src/scheduler/static-router.js';
import { CheckpointStore } from '../src/store/checkpoint-store.js';
import { startSimProcess } from '../test/helpers/sim-process.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '20000' }, workers: { type: 'string', default: '32' }, rounds: { type: 'string', default: '3' } } });
const count = Number(values.count);
const workers = Number(values.workers);
const rounds = Number(values.rounds);
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-store-'));
const input = path.join(dir, 'prompts.jsonl');
writeFileSync(input, Array.from({ length: count }, (_, i) => JSON.stringify({ id: `p${i}`, prompt: `prompt ${i}`, max_tokens: 16 })).join('\n') + '\n');

const sim = await startSimProcess(['--slots', String(workers), '--service-ms', '0']);
const backend = await openBackend({ url: sim.url, type: 'llama-server', connections: workers });
const router = new StaticRouter([{ backend, info: await backend.describe() }]);

async function withNoopStore(): Promise<{ totalMs: number; dispatchMs: number }> {
  const started = performance.now();
  const items: PromptItem[] = [];
  for await (const record of readPrompts([input], { cwd: dir, stdin: process.stdin })) if (record.ok) items.push(record.item);
  const source: WorkSource = {
    models: () => [{ model: null, pending: items.length }],
    async *items() {
      yield* items;
    },
  };
  const sink: ResultSink = { markRunning() {}, record() {}, error: undefined };
  const dispatchStart = performance.now();
  const summary = await new BatchScheduler({ router, source, sink, workers }).run();
  if (summary.done !== count) throw new Error(`expected ${count} done, got ${summary.done}`);
  const end = performance.now();
  return { totalMs: end - started, dispatchMs: end - dispatchStart };
}

async function withSqliteStore(round: number): Promise<{ totalMs: number; dispatchMs: number }> {
  const started = performance.now();
  const store = CheckpointStore.open({ path: path.join(dir, `job-${round}.sqlite`) });
  const job = store.openJob({ name: 'bench', config: {}, inputFingerprint: 'bench' });
  await store.ingest(job.id, readPrompts([input], { cwd: dir, stdin: process.stdin }));
  const writer = store.createResultWriter(job.id, {});
  const source: WorkSource = {
    models: () => store.pendingModels(job.id),
    items: (model) => store.pendingItems(job.id, { model, pageSize: workers * 2 }),
  };
  const dispatchStart = performance.now();
  const summary = await new BatchScheduler({ router, source, sink: writer, workers }).run();
  await writer.close();
  const end = performance.now();
  if (summary.done !== count || store.countByStatus(job.id).done !== count) throw new Error('not every result was committed');
  store.close();
  return { totalMs: end - started, dispatchMs: end - dispatchStart };
}

const rows: Array<[string, number, number]> = [];
await withNoopStore(); // warm-up: JIT, connections
for (let round = 0; round < rounds; round++) {
  const noop = await withNoopStore();
  const sqlite = await withSqliteStore(round);
  rows.push(['no-op store', noop.dispatchMs, noop.totalMs], ['SQLite store', sqlite.dispatchMs, sqlite.totalMs]);
}
await router.close();
await sim.close();
rmSync(dir, { recursive: true, force: true });

const best = (name: string, i: 1 | 2) => Math.min(...rows.filter((r) => r[0] === name).map((r) => r[i]));
const noopRps = (count / best('no-op store', 1)) * 1000;
const sqliteRps = (count / best('SQLite store', 1)) * 1000;
const noopTotal = (count / best('no-op store', 2)) * 1000;
const sqliteTotal = (count / best('SQLite store', 2)) * 1000;
console.log(`bench/store: ${count} prompts, ${workers} workers, 0 ms simulated server in its own process, best of ${rounds}; node ${process.version}, ${os.cpus().length} CPUs`);
console.log('| store        | dispatch req/s | incl. reading+ingest req/s |');
console.log('|--------------|----------------|----------------------------|');
console.log(`| no-op        | ${noopRps.toFixed(0).padStart(14)} | ${noopTotal.toFixed(0).padStart(26)} |`);
console.log(`| SQLite       | ${sqliteRps.toFixed(0).padStart(14)} | ${sqliteTotal.toFixed(0).padStart(26)} |`);
console.log(`| cost         | ${`${((1 - sqliteRps / noopRps) * 100).toFixed(1)}%`.padStart(14)} | ${`${((1 - sqliteTotal / noopTotal) * 100).toFixed(1)}%`.padStart(26)} |`);
