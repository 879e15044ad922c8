/**
 * What sampling a run costs: the same batch through the worker pool against a simulated server
 * paced at about 5,000 requests/s (32 slots × 6 ms), without telemetry, with the run sampler
 * (`samples` rows in a SQLite job database, as `batch run` does), with the sampler at 50 times
 * its rate (every 100 ms instead of 5 s, to show its cost per sample), and with `--metrics` (one
 * JSON line per prompt on top), and with `--metrics-listen 127.0.0.1:0` (issue 21: the run's
 * Prometheus metrics, with a scraper that GETs /metrics every second as Prometheus would; each
 * scrape counts the job's prompts in its database, which holds the batch's `--count` prompts).
 * Rounds rotate the variants; best of `--rounds`. Prints the requests/s and this process's CPU
 * time per request (steadier on a busy machine), and each variant's cost against the run without
 * telemetry, then issue 21's target (`TARGET` line).
 * Usage: npm run bench:sampler [-- --count 20000 --workers 32 --service-ms 6 --rounds 3 --scrape-ms 1000 --only listen]
 * (`--scrape-ms 0`: no scraper; `--only listen`: only no telemetry and --metrics-listen.)
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
import { machine, printTable, printTarget } from './bench-kit.js';
import { listenerUsPerRequest, metricsEventsUsPerRequest, runEvents, scrapeCpuMs, startScraper } from './sampler-metrics.js';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '20000' }, workers: { type: 'string', default: '32' }, rounds: { type: 'string', default: '3' }, 'service-ms': { type: 'string', default: '6' }, 'scrape-ms': { type: 'string', default: '1000' }, only: { type: 'string' } },
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

type Variant = 'no telemetry' | 'sampler, every 5 s' | 'sampler, every 100 ms' | 'sampler + --metrics' | 'sampler + --metrics-listen';
const allVariants: readonly Variant[] = ['no telemetry', 'sampler, every 5 s', 'sampler, every 100 ms', 'sampler + --metrics', 'sampler + --metrics-listen'];
const variants = values.only === 'listen' ? allVariants.filter((v) => v === 'no telemetry' || v === 'sampler + --metrics-listen') : allVariants;
const scrapeMs = Number(values['scrape-ms']);
const listenVariant: Variant = 'sampler + --metrics-listen';
const loadAtStart = machine();

async function once(variant: Variant, round: number): Promise<Result> {
  const store = CheckpointStore.open({ path: path.join(dir, `job-${round}-${variants.indexOf(variant)}.sqlite`) });
  const job = store.openJob({ name: 'bench', config: {}, inputFingerprint: 'bench' });
  // The job's prompts are in its database, as in a run: each scrape counts them there.
  await store.ingest(job.id, (async function* () {
    for (const item of items) yield { ok: true as const, item };
  })());
  const runId = store.startRun(job.id, { pid: process.pid, host: os.hostname(), argv: [] });
  // Every side starts from a checkpointed database: else the first commit on the clock (a sample's
  // row) copies the whole ingest out of the WAL and fsyncs it, ~0.4 s that only the sides with
  // telemetry paid (measured: +20 µs of CPU per request for the plain sampler as for the rest).
  connectionOf(store).pragma('wal_checkpoint(TRUNCATE)');
  const metricsPath = variant === 'sampler + --metrics' ? path.join(dir, `metrics-${round}.jsonl`) : undefined;
  let endpointUrl: string | undefined;
  const telemetry =
    variant === 'no telemetry'
      ? undefined
      : await startRunTelemetry({
          store,
          job: 'bench',
          jobId: job.id,
          runId,
          pending: count,
          metricsPath,
          metricsListen: variant === listenVariant ? '127.0.0.1:0' : undefined,
          notice: (line) => (endpointUrl = /at (http:\S+)$/.exec(line)?.[1] ?? endpointUrl),
          env: process.env,
          intervalMs: variant === 'sampler, every 100 ms' ? 100 : 5000,
        });
  if (variant === listenVariant && endpointUrl === undefined) throw new Error('--metrics-listen: the endpoint did not say where it listens');
  const scraper = endpointUrl === undefined || scrapeMs === 0 ? undefined : startScraper(endpointUrl, scrapeMs);
  // Prometheus runs before the batch does: the scraper's own start (a node process booting on
  // these 2 cores) is not on the clock, its scrapes are.
  await scraper?.ready;
  // As `batch run`: the statistics of the summary, and the telemetry when it runs.
  const statistics = new RunStatistics();
  const listener = composeListeners(statistics, telemetry?.listener);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await new BatchScheduler({ router, source, sink, workers, listener }).run();
  const summary = statistics.summary();
  const scrapes = await scraper?.stop();
  await telemetry?.stop();
  const cpu = process.cpuUsage(cpuBefore);
  const ms = performance.now() - started;
  if (summary.done !== count) throw new Error(`expected ${count} done, got ${summary.done}`);
  const samples = connectionOf(store).prepare('SELECT count(*) FROM samples').pluck().get() as number;
  store.close();
  return { ms, cpuUsPerRequest: (cpu.user + cpu.system) / count, samples, metricsBytes: metricsPath === undefined ? 0 : statSync(metricsPath).size, scrapes: scrapes ?? 0 };
}

interface Result {
  readonly ms: number;
  /** This process's CPU time per request: steadier than requests/s on a busy machine. */
  readonly cpuUsPerRequest: number;
  readonly samples: number;
  readonly metricsBytes: number;
  /** GETs of /metrics answered during the run (--metrics-listen). */
  readonly scrapes: number;
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
 * request (its three listener events) and per sample (counts, memory, one row), in CPU time. The
 * events are a run's: distinct prompts over 3 models and 4 servers, 32 on the wire at once.
 */
async function partsOfTheCost(): Promise<{ eventsUsPerRequest: number; sampleMs: number; metricsUsPerRequest: number; scrapeMs: number }> {
  const events = runEvents(200_000);
  const eventsUsPerRequest = listenerUsPerRequest(new RunSampler({ jobId: 1, runId: 1, pending: events.items.length, onSample: () => undefined }), events);
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
  // A scrape counts the job's prompts in its database: the batch's, ingested as a run does.
  const scraped = store.openJob({ name: 'scraped', config: {}, inputFingerprint: 'bench' });
  await store.ingest(scraped.id, (async function* () {
    for (const each of items) yield { ok: true as const, item: each };
  })());
  const scrapeMs = await scrapeCpuMs(() => store.countByStatus(scraped.id));
  store.close();
  return { eventsUsPerRequest, sampleMs: (cpu.user + cpu.system) / 1000 / (2 * samplers), metricsUsPerRequest: metricsEventsUsPerRequest(events), scrapeMs };
}
const parts = await partsOfTheCost();
rmSync(dir, { recursive: true, force: true });

const best = (variant: Variant): Result => results.get(variant)!.reduce((a, b) => (b.ms < a.ms ? b : a));
const leastCpu = (variant: Variant): number => Math.min(...results.get(variant)!.map((r) => r.cpuUsPerRequest));
const rate = (ms: number): number => (count / ms) * 1000;
const base = rate(best('no telemetry').ms);
const baseCpu = leastCpu('no telemetry');
const costOf = (variant: Variant): number => (1 - rate(best(variant).ms) / base) * 100;
console.log(`bench/sampler: ${count} prompts, ${workers} workers, simulated server ${workers} slots × ${serviceMs} ms in its own process, best of ${rounds} rotated rounds; nvidia-smi ${findExecutable('nvidia-smi', process.env) === undefined ? 'not on PATH' : 'on PATH'}; at the start ${loadAtStart}; at the end ${machine()}`);
printTable(
  ['variant', ...results.get('no telemetry')!.map((_, i) => `round ${i + 1} req/s`), 'best req/s', 'cost', 'CPU µs/request', 'cost', 'samples', 'scrapes', 'metrics file'],
  variants.map((variant) => {
    const run = best(variant);
    const cpu = leastCpu(variant);
    return [
      variant,
      ...results.get(variant)!.map((r) => rate(r.ms).toFixed(0)),
      rate(run.ms).toFixed(0),
      variant === 'no telemetry' ? '-' : `${costOf(variant).toFixed(1)}%`,
      cpu.toFixed(1),
      variant === 'no telemetry' ? '-' : `${((cpu / baseCpu - 1) * 100).toFixed(1)}%`,
      String(run.samples),
      variant === listenVariant ? String(run.scrapes) : '-',
      run.metricsBytes === 0 ? '-' : `${(run.metricsBytes / 1024 / 1024).toFixed(1)} MiB`,
    ];
  }),
);

const perSecondMs = (parts.eventsUsPerRequest * 5000) / 1000 + parts.sampleMs / 5;
console.log(
  `taken apart (a run's events: 200,000 distinct prompts, 3 models, 4 servers, 32 on the wire): the sampler's events cost ${parts.eventsUsPerRequest.toFixed(3)} µs of CPU per request and one sample (counts, memory, one SQLite row${findExecutable('nvidia-smi', process.env) === undefined ? '' : ', starting nvidia-smi'}) ${parts.sampleMs.toFixed(2)} ms; ` +
    `at 5,000 requests/s and a sample every 5 s that is ${perSecondMs.toFixed(2)} ms of CPU per second (${(perSecondMs / 10).toFixed(3)}% of one core)`,
);
const metricsPerSecondMs = (parts.metricsUsPerRequest * 5000) / 1000 + parts.scrapeMs;
console.log(
  `taken apart: --metrics-listen's listener costs ${parts.metricsUsPerRequest.toFixed(3)} µs of CPU per request and one scrape (${count} prompts counted in the database, the exposition built) ${parts.scrapeMs.toFixed(2)} ms; ` +
    `at 5,000 requests/s and a scrape every second that is ${metricsPerSecondMs.toFixed(2)} ms of CPU per second (${(metricsPerSecondMs / 10).toFixed(3)}% of one core)`,
);
const listenCost = costOf(listenVariant);
printTarget({
  target: `sampler + --metrics-listen (${scrapeMs === 0 ? 'not scraped' : `scraped every ${scrapeMs} ms`}) vs no telemetry: requests/s at ~${Math.round((workers / serviceMs) * 1000)} req/s paced`,
  batch: `${rate(best(listenVariant).ms).toFixed(0)} req/s`,
  peer: `${base.toFixed(0)} req/s`,
  measured: `${listenCost.toFixed(1)}%`,
  goal: '< 1%',
  met: listenCost < 1,
});
