/**
 * What the checkpoint store costs: the same batch through the worker pool against a simulated
 * server paced at about 5,000 requests/s (32 slots × 6 ms), with a no-op store (prompts in memory,
 * results dropped) and with the SQLite store (ingest, lazy paging, group-committed results), the
 * commits on the main thread and on their own thread (what `batch run` uses). Prints the ratios.
 * `--service-ms 0` shows the CPU cost per request instead (the client is then the bottleneck).
 * Then the group commit alone, with SQLite's `synchronous = NORMAL` and `FULL` (what a commit
 * costs when it must reach the disk before it returns: the price of surviving a power cut);
 * `--group-commit-only` measures just that.
 * Usage: npm run bench:store [-- --count 20000 --workers 32 --service-ms 6 --rounds 3 --group-commit-only]
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
import { connectionOf } from '../src/store/connection-of.js';
import { ThreadedResultWriter } from '../src/store/threaded-result-writer.js';
import { startSimProcess } from '../test/helpers/sim-process.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '20000' },
    workers: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    'service-ms': { type: 'string', default: '6' },
    'group-commit-only': { type: 'boolean', default: false },
  },
});
const serviceMs = Number(values['service-ms']);
const count = Number(values.count);
const workers = Number(values.workers);
const rounds = Number(values.rounds);
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-store-'));
const input = path.join(dir, 'prompts.jsonl');
writeFileSync(input, Array.from({ length: count }, (_, i) => JSON.stringify({ id: `p${i}`, prompt: `prompt ${i}`, max_tokens: 16 })).join('\n') + '\n');

if (values['group-commit-only']) {
  await printGroupCommitCost();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

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

await printGroupCommitCost();

/**
 * The group commit of the result writer alone: `commits` transactions of `perCommit` results
 * each (a result and its running mark, as a run at full speed fills one), on a file database,
 * with `synchronous` set on the writer's connection. Returns the milliseconds per commit.
 */
async function groupCommitMs(round: number, synchronous: 'NORMAL' | 'FULL', commits = 40, perCommit = 250): Promise<number> {
  const store = CheckpointStore.open({ path: path.join(dir, `commit-${round}-${synchronous}.sqlite`) });
  const job = store.openJob({ name: 'bench', config: {}, inputFingerprint: 'bench' });
  const total = commits * perCommit;
  async function* records() {
    for (let i = 0; i < total; i++) yield { ok: true as const, item: { customId: `c${i}`, index: i, source: 'bench', endpoint: '/v1/chat/completions' as const, body: { messages: [{ role: 'user', content: `prompt ${i}` }] } } };
  }
  await store.ingest(job.id, records());
  connectionOf(store).pragma(`synchronous = ${synchronous}`);
  // Commits only when asked (flush), so that each is one group of `perCommit` results.
  const writer = store.createResultWriter(job.id, { flushIntervalMs: 60_000, maxBatch: 4 * perCommit });
  const started = performance.now();
  for (let c = 0; c < commits; c++) {
    for (let i = c * perCommit; i < (c + 1) * perCommit; i++) {
      writer.markRunning(`c${i}`);
      writer.record({ customId: `c${i}`, status: 'done', attempts: 1, response: { statusCode: 200, requestId: `r${i}`, body: { choices: [{ message: { role: 'assistant', content: `answer ${i}` } }] } }, latencyMs: 6, promptTokens: 3, completionTokens: 16, finishedAt: Date.now() });
    }
    await writer.flush();
  }
  const elapsed = performance.now() - started;
  await writer.close();
  store.close();
  return elapsed / commits;
}

/**
 * Groups of 25 results (a run at ~250 answers/s commits that many per 100 ms tick) and of 250 (the
 * most one commit holds: 500 entries, each result with its running mark).
 */
async function printGroupCommitCost(): Promise<void> {
  console.log(`\nbench/store group commit: 40 commits per group size, WAL, best of ${rounds} rounds`);
  console.log('| results per commit | NORMAL ms per commit | FULL ms per commit | FULL extra |');
  console.log('|--------------------|----------------------|--------------------|------------|');
  for (const perCommit of [25, 250]) {
    const perMode = { NORMAL: [] as number[], FULL: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['NORMAL', 'FULL'] as const) perMode[mode].push(await groupCommitMs(round * 1000 + perCommit, mode, 40, perCommit));
    }
    // Best of the rounds, as above: other processes on the machine only ever add time.
    const normal = Math.min(...perMode.NORMAL);
    const full = Math.min(...perMode.FULL);
    console.log(`| ${String(perCommit).padStart(18)} | ${normal.toFixed(2).padStart(20)} | ${full.toFixed(2).padStart(18)} | ${`${(full - normal).toFixed(2)} ms`.padStart(10)} |`);
  }
}
