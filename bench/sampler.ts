/**
 * What sampling a run costs: the same batch through the worker pool against a simulated server
 * paced at about 5,000 requests/s (32 slots × 6 ms), without telemetry, with the run sampler
 * (`samples` rows in a SQLite job database, as `batch run` does), with the sampler at 50 times
 * its rate (every 100 ms instead of 5 s, to show its cost per sample), and with `--metrics` (one
 * JSON line per prompt on top). Rounds rotate the variants; best of `--rounds`. Prints the
 * requests/s and this process's CPU time per request (steadier on a busy machine), and each
 * variant's cost against the run without telemetry.
 * Usage: npm run bench:sampler [-- --count 20000 --workers 32 --service-ms 6 --rounds 3]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openBackend } from '../src/backends/open-backend.js';
import type { PromptItem } from '../src/prompts/prompt-item.js';
import { GpuUsageReader } from '../src/hardware/query-gpu-usage.js';
import { RunSampler } from '../src/reporting/run-sampler.js';
import { startRunTelemetry } from '../src/reporting/run-telemetry.js';
import { BatchScheduler, type ResultSink, type WorkSource } from '../src/scheduler/batch-scheduler.js';
import { composeListeners } from '../src/scheduler/listener-set.js';
import { RunStatistics } from '../src/reporting/run-statistics.js';
import { StaticRouter } from '../src/app/routing/static-router.js';
import { CheckpointStore } from '../src/store/checkpoint-store.js';
import { connectionOf } from '../src/store/connection-of.js';
import { findExecutable } from '../src/util/find-executable.js';
import { startSimProcess } from '../test/helpers/sim-process.js';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '20000' }, workers: { type: 'string', default: '32' }, rounds: { type: 'string', default: '3' }, 'service-ms': { type: 'string', default: '6' } },
});
const serviceMs = Number(values['service-ms']);
const count = Number(values.count);
const workers = Number(values.workers);
const rounds = Number(values.rounds);
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-sampler-'));

const sim = await startSimProcess(['--slots', String(workers), '--service-ms', String(serviceMs)]);
const backend = await openBackend({ url: sim.url, type: 'llama-server', connections: workers });
const router = new StaticRouter([{ backend, info: await backend.describe() }]);
const items: PromptItem[] = Array.from({ length: count }, (_, i) => ({
  customId: `p${i}`,
  index: i,
  source: `prompts.jsonl:${i + 1}`,
  endpoint: '/v1/chat/completions' as const,
  body: { messages: [{ role: 'user', content: `prompt ${i}` }], max_tokens: 16 },
}));
const source: WorkSource = {
  models: () => [{ model: null, pending: items.length }],
  async *items() {
    yield* items;
  },
};
// Results dropped: what is measured is the sampling alone (bench:store measures the store).
const sink: ResultSink = { markRunning() {}, record() {}, error: undefined };

type Variant = 'no telemetry' | 'sampler, every 5 s' | 'sampler, every 100 ms' | 'sampler + --metrics';
const variants: readonly Variant[] = ['no telemetry', 'sampler, every 5 s', 'sampler, every 100 ms', 'sampler + --metrics'];

async function once(variant: Variant, round: number): Promise<Result> {
  const store = CheckpointStore.open({ path: path.join(dir, `job-${round}-${variants.indexOf(variant)}.sqlite`) });
  const job = store.openJob({ name: 'bench', config: {}, inputFingerprint: 'bench' });
  const runId = store.startRun(job.id, { pid: process.pid, host: os.hostname(), argv: [] });
  const metricsPath = variant === 'sampler + --metrics' ? path.join(dir, `metrics-${round}.jsonl`) : undefined;
  const telemetry =
    variant === 'no telemetry'
      ? undefined
      : await startRunTelemetry({ store, job: 'bench', jobId: job.id, runId, pending: count, metricsPath, env: process.env, intervalMs: variant === 'sampler, every 100 ms' ? 100 : 5000 });
  // As `batch run`: the statistics of the summary, and the telemetry when it runs.
  const statistics = new RunStatistics();
  const listener = composeListeners(statistics, telemetry?.listener);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await new BatchScheduler({ router, source, sink, workers, listener }).run();
  const summary = statistics.summary();
  await telemetry?.stop();
  const cpu = process.cpuUsage(cpuBefore);
  const ms = performance.now() - started;
  if (summary.done !== count) throw new Error(`expected ${count} done, got ${summary.done}`);
  const samples = connectionOf(store).prepare('SELECT count(*) FROM samples').pluck().get() as number;
  store.close();
  return { ms, cpuUsPerRequest: (cpu.user + cpu.system) / count, samples, metricsBytes: metricsPath === undefined ? 0 : statSync(metricsPath).size };
}

interface Result {
  readonly ms: number;
  /** This process's CPU time per request: steadier than requests/s on a busy machine. */
  readonly cpuUsPerRequest: number;
  readonly samples: number;
  readonly metricsBytes: number;
}

const results = new Map<Variant, Result[]>(variants.map((v) => [v, []]));
await once('no telemetry', -1); // warm-up: JIT, connections
for (let round = 0; round < rounds; round++) {
  // Rotated each round, so that no variant always runs first after a pause.
  for (let i = 0; i < variants.length; i++) {
    const variant = variants[(i + round) % variants.length]!;
    results.get(variant)!.push(await once(variant, round));
  }
}
await router.close();
await sim.close();

/**
 * The same cost taken apart, steadier than whole runs on a busy machine: the sampler's work per
 * request (its three listener events) and per sample (counts, memory, one row), in CPU time.
 */
async function partsOfTheCost(): Promise<{ eventsUsPerRequest: number; sampleMs: number }> {
  const calls = 1_000_000;
  const counting = new RunSampler({ jobId: 1, runId: 1, pending: calls, onSample: () => undefined });
  const item = items[0]!;
  const outcome = { customId: 'p0', status: 'done' as const, attempts: 1, completionTokens: 16, finishedAt: Date.now() };
  let eventsUsPerRequest = Infinity;
  for (let round = 0; round < 3; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < calls; i++) {
      counting.onRequestStart(item, sim.url);
      counting.onRequestEnd(item, sim.url);
      counting.onOutcome(outcome);
    }
    const cpu = process.cpuUsage(before);
    eventsUsPerRequest = Math.min(eventsUsPerRequest, (cpu.user + cpu.system) / calls);
  }
  const store = CheckpointStore.open({ path: path.join(dir, 'samples.sqlite') });
  const job = store.openJob({ name: 'bench', config: {}, inputFingerprint: 'bench' });
  const runId = store.startRun(job.id, { pid: process.pid, host: os.hostname(), argv: [] });
  // With nvidia-smi on PATH each sample starts it, as in a run (its own CPU is another process's).
  const gpu = GpuUsageReader.find(process.env);
  const samplers = 200;
  const before = process.cpuUsage();
  // Each sampler takes two samples (start and stop), as a run does; the timer never fires.
  for (let i = 0; i < samplers; i++) {
    const sampler = new RunSampler({ jobId: job.id, runId, pending: 0, intervalMs: 2 ** 30, gpu, onSample: (sample) => store.insertSample(sample) });
    await sampler.start();
    await sampler.stop();
  }
  const cpu = process.cpuUsage(before);
  store.close();
  return { eventsUsPerRequest, sampleMs: (cpu.user + cpu.system) / 1000 / (2 * samplers) };
}
const parts = await partsOfTheCost();
rmSync(dir, { recursive: true, force: true });

const best = (variant: Variant): Result => results.get(variant)!.reduce((a, b) => (b.ms < a.ms ? b : a));
const leastCpu = (variant: Variant): number => Math.min(...results.get(variant)!.map((r) => r.cpuUsPerRequest));
const rate = (ms: number): number => (count / ms) * 1000;
const base = rate(best('no telemetry').ms);
const baseCpu = leastCpu('no telemetry');
console.log(`bench/sampler: ${count} prompts, ${workers} workers, simulated server ${workers} slots × ${serviceMs} ms in its own process, best of ${rounds}; node ${process.version}, ${os.cpus().length} CPUs, nvidia-smi ${findExecutable('nvidia-smi', process.env) === undefined ? 'not on PATH' : 'on PATH'}`);
console.log('| variant                | req/s | cost   | CPU µs/request | cost   | samples | metrics file |');
console.log('|------------------------|-------|--------|----------------|--------|---------|--------------|');
for (const variant of variants) {
  const run = best(variant);
  const value = rate(run.ms);
  const cost = variant === 'no telemetry' ? '-' : `${((1 - value / base) * 100).toFixed(1)}%`;
  const file = run.metricsBytes === 0 ? '-' : `${(run.metricsBytes / 1024 / 1024).toFixed(1)} MiB`;
  const cpu = leastCpu(variant);
  const cpuCost = variant === 'no telemetry' ? '-' : `${((cpu / baseCpu - 1) * 100).toFixed(1)}%`;
  console.log(`| ${variant.padEnd(22)} | ${value.toFixed(0).padStart(5)} | ${cost.padStart(6)} | ${cpu.toFixed(1).padStart(14)} | ${cpuCost.padStart(6)} | ${String(run.samples).padStart(7)} | ${file.padStart(12)} |`);
}

const perSecondMs = (parts.eventsUsPerRequest * 5000) / 1000 + parts.sampleMs / 5;
console.log(
  `taken apart: the sampler's events cost ${parts.eventsUsPerRequest.toFixed(3)} µs of CPU per request and one sample (counts, memory, one SQLite row${findExecutable('nvidia-smi', process.env) === undefined ? '' : ', starting nvidia-smi'}) ${parts.sampleMs.toFixed(2)} ms; ` +
    `at 5,000 requests/s and a sample every 5 s that is ${perSecondMs.toFixed(2)} ms of CPU per second (${(perSecondMs / 10).toFixed(3)}% of one core)`,
);
