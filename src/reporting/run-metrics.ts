import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Counter, Gauge, Registry } from 'prom-client';
import type { SchedulerListener } from '../scheduler/batch-scheduler.js';
import { RunTally } from './run-tally.js';
import { tallyCounter, tallyGauge, tallyHistogram } from './tally-metrics.js';
import type { RunSample } from '../store/run-sample.js';
import type { StatusCounts } from '../store/store-records.js';

/** What a run's Prometheus metrics are made from. */
export interface RunMetricsOptions {
  /** The batch job's name: the `job` label of every metric. */
  readonly job: string;
  /** The job's prompts by state, as its database says now (read at each scrape). */
  readonly counts: () => StatusCounts;
  /**
   * The memory the batch process may use, in bytes: the cgroup's limit when there is one, else the
   * machine's RAM. @default read from /sys/fs/cgroup, else os.totalmem()
   */
  readonly memoryLimitBytes?: number;
}

/**
 * A run's metrics in Prometheus' text format (`batch run --metrics-listen`): its listener counts
 * requests, retries, tokens, latency and loads as the scheduler reports them; the job's prompts by
 * state are read from its database at each scrape, so they agree with it. No label takes an
 * unbounded value (no custom_id): `job`, `model`, `server`, `outcome` (an error code), `gpu`.
 */
export class RunMetrics {
  readonly registry = new Registry();
  readonly listener: SchedulerListener;
  readonly #upServers = new Set<string>();
  readonly #up: Gauge;
  readonly #gpuBusy: Gauge;
  readonly #gpuMemory: Gauge;
  readonly #queued: Gauge;

  constructor(options: RunMetricsOptions) {
    const registry = this.registry;
    registry.setDefaultLabels({ job: options.job });
    registerProcessMetrics(registry);
    const counts = options.counts;
    new Gauge({
      name: 'batch_prompts',
      help: 'Prompts of the job by state, as its database holds them (pending includes those on the wire)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const now = counts();
        this.set({ state: 'pending' }, now.pending + now.running);
        this.set({ state: 'done' }, now.done);
        this.set({ state: 'failed' }, now.failed);
      },
    });
    const limit = options.memoryLimitBytes ?? memoryLimitBytes();
    new Gauge({ name: 'batch_process_memory_limit_bytes', help: 'Memory the batch process may use: its cgroup limit, else the machine RAM', registers: [registry] }).set(limit);
    // Counted per event in plain numbers, handed to prom-client at each scrape (see RunTally).
    const tally = new RunTally((server) => {
      // A server seen for the first time is up; one reported down stays down until reported up.
      if (!this.#upServers.has(server)) this.#setUp(server, 1);
    });
    tallyCounter(registry, tally.requests, { name: 'batch_requests_total', help: 'Requests that ended, by model, server and outcome (ok, or the error code)', labelNames: ['model', 'server', 'outcome'] });
    tallyCounter(registry, tally.finished, { name: 'batch_prompts_finished_total', help: 'Prompts this run finished, by outcome (done, failed)', labelNames: ['outcome'] });
    tallyCounter(registry, tally.retries, { name: 'batch_retries_total', help: 'Requests sent again, by the error that caused it', labelNames: ['cause'] });
    tallyHistogram(registry, tally.latency, { name: 'batch_request_duration_seconds', help: 'Time from sending a prompt to its answer, by model', labelNames: ['model'] });
    tallyHistogram(registry, tally.firstToken, { name: 'batch_time_to_first_token_seconds', help: 'Time to the first streamed token (--stream), by model', labelNames: ['model'] });
    tallyCounter(registry, tally.promptTokens, { name: 'batch_prompt_tokens_total', help: 'Prompt tokens the servers reported, by model', labelNames: ['model'] });
    tallyCounter(registry, tally.completionTokens, { name: 'batch_completion_tokens_total', help: 'Completion tokens the servers reported, by model', labelNames: ['model'] });
    tallyCounter(registry, tally.loads, { name: 'batch_model_loads_total', help: 'Answers that waited for their model to load, by model', labelNames: ['model'] });
    tallyHistogram(registry, tally.loadTime, { name: 'batch_model_load_duration_seconds', help: 'Model load time the servers reported, by model', labelNames: ['model'] });
    tallyGauge(registry, tally.inFlight, { name: 'batch_requests_in_flight', help: 'Requests on the wire, by server', labelNames: ['server'] });
    this.#queued = new Gauge({ name: 'batch_prompts_queued', help: 'Prompts of this run neither finished nor on the wire (at the last sample)', registers: [registry] });
    this.#up = new Gauge({ name: 'batch_server_up', help: 'Whether a server takes requests (1) or is down, its circuit open (0)', labelNames: ['server'], registers: [registry] });
    const allDown = new Gauge({ name: 'batch_servers_all_down', help: 'Whether every server of the run is down (the run pauses)', registers: [registry] });
    this.#gpuBusy = new Gauge({ name: 'batch_gpu_utilization_ratio', help: 'Share of the last sampling period each GPU was busy (nvidia-smi)', labelNames: ['gpu', 'name'], registers: [registry] });
    this.#gpuMemory = new Gauge({ name: 'batch_gpu_memory_used_bytes', help: 'Memory in use on each GPU (nvidia-smi)', labelNames: ['gpu', 'name'], registers: [registry] });
    allDown.set(0);
    this.listener = {
      onRequestStart: (_item, serverUrl) => tally.requestStarted(serverUrl),
      onRequestEnd: (item, serverUrl) => tally.requestEnded(item, serverUrl),
      onRetry: (item, error) => tally.retried(item, error.code),
      onOutcome: (outcome) => tally.finishedPrompt(outcome),
      onEndpointDown: (url) => this.#setUp(url, 0),
      onEndpointUp: (url) => this.#setUp(url, 1),
      onJoined: (url) => this.#setUp(url, 1),
      onAllDown: () => allDown.set(1),
      onRecovered: () => allDown.set(0),
    };
  }

  /** Takes what the run's sampler saw: the queue and each GPU. */
  onSample(sample: RunSample): void {
    this.#queued.set(sample.queued);
    for (const gpu of sample.gpus ?? []) {
      const labels = { gpu: String(gpu.index), name: gpu.name };
      if (gpu.utilizationPct !== null) this.#gpuBusy.set(labels, gpu.utilizationPct / 100);
      if (gpu.memoryUsedBytes !== null) this.#gpuMemory.set(labels, gpu.memoryUsedBytes);
    }
  }

  /** The exposition, in Prometheus' text format. */
  async exposition(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  #setUp(server: string, up: 0 | 1): void {
    this.#upServers.add(server);
    this.#up.set({ server }, up);
  }
}

/** The cgroup v2 (or v1) memory limit of this process, else the machine's RAM. */
export function memoryLimitBytes(read: (file: string) => string = (file) => readFileSync(file, 'utf8')): number {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const value = Number(read(file).trim());
      // "max", or v1's "no limit" (a number near 2^63), mean none.
      if (Number.isSafeInteger(value) && value > 0 && value < os.totalmem()) return value;
    } catch {
      // Not there: the next, or the RAM.
    }
  }
  return os.totalmem();
}

/**
 * The batch process's own CPU and memory, under the names Prometheus' client libraries use for them
 * (prom-client's default set adds Node internals that `promtool check metrics` lints).
 */
export function registerProcessMetrics(registry: Registry): void {
  const startSeconds = Math.round(Date.now() / 1000 - process.uptime());
  new Counter({
    name: 'process_cpu_seconds_total',
    help: 'User and system CPU time the batch process spent, in seconds',
    registers: [registry],
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  new Gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory of the batch process', registers: [registry], collect() { this.set(process.memoryUsage.rss()); } });
  new Gauge({ name: 'process_start_time_seconds', help: 'Start time of the batch process since the Unix epoch, in seconds', registers: [registry] }).set(startSeconds);
  new Gauge({ name: 'nodejs_heap_size_used_bytes', help: 'V8 heap in use by the batch process', registers: [registry], collect() { this.set(process.memoryUsage().heapUsed); } });
}
