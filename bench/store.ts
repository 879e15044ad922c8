/**
 * What the checkpoint store costs: the same batch through the worker pool against a simulated
 * server paced at about 5,000 requests/s (32 slots × 6 ms), with a no-op store (prompts in memory,
 * results dropped) and with the SQLite store (ingest, lazy paging, group-committed results), the
 * commits on the main thread and on their own thread (what `batch run` uses). Prints the ratios.
 * `--service-ms 0` shows the CPU cost per request instead (the client is then the bottleneck).
 * Usage: npm run bench:store [-- --count 20000 --workers 32 --service-ms 6 --rounds 3]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openBackend } from '../src/backends/open-backend.js';
import { readPrompts } from '../src/prompts/read-prompts.js';
import type { PromptItem } from '../src/prompts/prompt-item.js';
import { RunStatistics } from '../src/reporting/run-statistics.js';
import { BatchScheduler, type ResultSink, type WorkSource } from '../src/scheduler/batch-scheduler.js';
import { StaticRouter } from '../src/app/routing/static-router.js';
import { CheckpointStore } from '../src/store/checkpoint-store.js';
import { ThreadedResultWriter } from '../src/store/threaded-result-writer.js';
import { startSimProcess } from '../test/helpers/sim-process.js';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '20000' }, workers: { type: 'string', default: '32' }, rounds: { type: 'string', default: '3' }, 'service-ms': { type: 'string', default: '6' } },
});
const serviceMs = Number(values['service-ms']);
const count = Number(values.count);
const workers = Number(values.workers);
const rounds = Number(values.rounds);
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-store-'));
const input = path.join(dir, 'prompts.jsonl');
writeFileSync(input, Array.from({ length: count }, (_, i) => JSON.stringify({ id: `p${i}`, prompt: `prompt ${i}`, max_tokens: 16 })).join('\n') + '\n');

const sim = await startSimProcess(['--slots', String(workers), '--service-ms', String(serviceMs)]);
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
  const statistics = new RunStatistics();
  await new BatchScheduler({ router, source, sink, workers, listener: statistics }).run();
  const summary = statistics.summary();
  if (summary.done !== count) throw new Error(`expected ${count} done, got ${summary.done}`);
  const end = performance.now();
  return { totalMs: end - started, dispatchMs: end - dispatchStart };
}

async function withSqliteStore(round: number, threaded: boolean): Promise<{ totalMs: number; dispatchMs: number }> {
  const started = performance.now();
  const store = CheckpointStore.open({ path: path.join(dir, `job-${round}-${threaded}.sqlite`) });
  const job = store.openJob({ name: 'bench', config: {}, inputFingerprint: 'bench' });
  await store.ingest(job.id, readPrompts([input], { cwd: dir, stdin: process.stdin }));
  // Threaded is what `batch run` uses: commits on a thread of their own.
  const writer = threaded ? new ThreadedResultWriter({ path: store.path, jobId: job.id }, ThreadedResultWriter.workerScript()!) : store.createResultWriter(job.id, {});
  const source: WorkSource = {
    models: () => store.pendingModels(job.id),
    items: (model) => store.pendingItems(job.id, { model, pageSize: workers * 2 }),
  };
  const dispatchStart = performance.now();
  const statistics = new RunStatistics();
  await new BatchScheduler({ router, source, sink: writer, workers, listener: statistics }).run();
  const summary = statistics.summary();
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
  const inThread = await withSqliteStore(round, false);
  const threaded = await withSqliteStore(round, true);
  rows.push(['no-op store', noop.dispatchMs, noop.totalMs], ['SQLite, main thread', inThread.dispatchMs, inThread.totalMs], ['SQLite, writer thread', threaded.dispatchMs, threaded.totalMs]);
}
await router.close();
await sim.close();
rmSync(dir, { recursive: true, force: true });

const best = (name: string, i: 1 | 2): number => Math.min(...rows.filter((r) => r[0] === name).map((r) => r[i]));
const rate = (ms: number): number => (count / ms) * 1000;
console.log(`bench/store: ${count} prompts, ${workers} workers, simulated server ${workers} slots × ${serviceMs} ms in its own process, best of ${rounds}; node ${process.version}, ${os.cpus().length} CPUs`);
console.log('| store                  | dispatch req/s | cost   | with reading+ingest req/s | cost   |');
console.log('|------------------------|----------------|--------|---------------------------|--------|');
for (const name of ['no-op store', 'SQLite, main thread', 'SQLite, writer thread']) {
  const dispatch = rate(best(name, 1));
  const total = rate(best(name, 2));
  const cost = (value: number, base: number): string => (name === 'no-op store' ? '-' : `${((1 - value / base) * 100).toFixed(1)}%`);
  console.log(`| ${name.padEnd(22)} | ${dispatch.toFixed(0).padStart(14)} | ${cost(dispatch, rate(best('no-op store', 1))).padStart(6)} | ${total.toFixed(0).padStart(25)} | ${cost(total, rate(best('no-op store', 2))).padStart(6)} |`);
}
