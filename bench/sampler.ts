/**
 * What sampling a run costs: the same batch through the worker pool against a simulated server
 * paced at about 5,000 requests/s (32 slots × 6 ms), without telemetry, with the run sampler
 * (`samples` rows in a SQLite job database, as `batch run` does), with the sampler at 50 times
 * its rate (every 100 ms instead of 5 s, to show its cost per sample), and with `--metrics` (one
 * JSON line per prompt on top). Rounds alternate the variants; best of `--rounds`. Prints the
 * requests/s and each variant's cost against the run without telemetry.
 * Usage: npm run bench:sampler [-- --count 20000 --workers 32 --service-ms 6 --rounds 3]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openBackend } from '../src/backends/open-backend.js';
import type { PromptItem } from '../src/prompts/prompt-item.js';
import { startRunTelemetry } from '../src/reporting/run-telemetry.js';
import { BatchScheduler, type ResultSink, type SchedulerListener, type WorkSource } from '../src/scheduler/batch-scheduler.js';
import { StaticRouter } from '../src/scheduler/static-router.js';
import { CheckpointStore } from '../src/store/checkpoint-store.js';
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

async function once(variant: Variant, round: number): Promise<{ ms: number; samples: number; metricsBytes: number }> {
  const store = CheckpointStore.open({ path: path.join(dir, `job-${round}-${variants.indexOf(variant)}.sqlite`) });
  const job = store.openJob({ name: 'bench', config: {}, inputFingerprint: 'bench' });
  const runId = store.startRun(job.id, { pid: process.pid, host: os.hostname(), argv: [] });
  const metricsPath = variant === 'sampler + --metrics' ? path.join(dir, `metrics-${round}.jsonl`) : undefined;
  const telemetry =
    variant === 'no telemetry'
      ? undefined
      : await startRunTelemetry({ store, job: 'bench', jobId: job.id, runId, pending: count, metricsPath, env: process.env, intervalMs: variant === 'sampler, every 100 ms' ? 100 : 5000 });
  const listener: SchedulerListener | undefined = telemetry?.listener;
  const started = performance.now();
  const summary = await new BatchScheduler({ router, source, sink, workers, listener }).run();
  await telemetry?.stop();
  const ms = performance.now() - started;
  if (summary.done !== count) throw new Error(`expected ${count} done, got ${summary.done}`);
  const samples = store.database.prepare('SELECT count(*) FROM samples').pluck().get() as number;
  store.close();
  return { ms, samples, metricsBytes: metricsPath === undefined ? 0 : statSync(metricsPath).size };
}

const results = new Map<Variant, Array<{ ms: number; samples: number; metricsBytes: number }>>(variants.map((v) => [v, []]));
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
rmSync(dir, { recursive: true, force: true });

const best = (variant: Variant): { ms: number; samples: number; metricsBytes: number } => results.get(variant)!.reduce((a, b) => (b.ms < a.ms ? b : a));
const rate = (ms: number): number => (count / ms) * 1000;
const base = rate(best('no telemetry').ms);
console.log(`bench/sampler: ${count} prompts, ${workers} workers, simulated server ${workers} slots × ${serviceMs} ms in its own process, best of ${rounds}; node ${process.version}, ${os.cpus().length} CPUs, nvidia-smi ${findExecutable('nvidia-smi', process.env) === undefined ? 'not on PATH' : 'on PATH'}`);
console.log('| variant                | req/s | cost   | samples | metrics file |');
console.log('|------------------------|-------|--------|---------|--------------|');
for (const variant of variants) {
  const run = best(variant);
  const value = rate(run.ms);
  const cost = variant === 'no telemetry' ? '-' : `${((1 - value / base) * 100).toFixed(1)}%`;
  const file = run.metricsBytes === 0 ? '-' : `${(run.metricsBytes / 1024 / 1024).toFixed(1)} MiB`;
  console.log(`| ${variant.padEnd(22)} | ${value.toFixed(0).padStart(5)} | ${cost.padStart(6)} | ${String(run.samples).padStart(7)} | ${file.padStart(12)} |`);
}

