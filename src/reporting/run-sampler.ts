import { AppError } from '../errors.js';
import type { GpuUsage } from '../hardware/query-gpu-usage.js';
import type { PromptItem } from '../prompts/prompt-item.js';
import type { SchedulerListener } from '../scheduler/scheduler-listener.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import type { RunSample } from '../store/run-sample.js';
import { scrubSecrets } from '../store/scrub-secrets.js';
import { checkNumber, checkWholeNumber, optionError } from '../util/check-option.js';
import { defaults } from '../defaults.js';

/** What a `RunSampler` samples and where its samples go. */
export interface RunSamplerOptions {
  readonly jobId: number;
  readonly runId: number;
  /** Prompts this run has to send (what `queued` counts down from). */
  readonly pending: number;
  /** Receives each sample, in order. A throw is the receiver's to report: sampling goes on. */
  readonly onSample: (sample: RunSample) => void;
  /** Reads the GPUs once per sample (see `GpuUsageReader`); none: samples carry no GPU figures. */
  readonly gpu?: { read(): Promise<readonly GpuUsage[] | undefined> };
  /** Time between samples while the run goes on. @default 5000 */
  readonly intervalMs?: number;
  /** Clock, injectable for tests. @default Date.now */
  readonly now?: () => number;
}

/**
 * Samples a run: one `RunSample` when it starts, one every `intervalMs` while it runs and one when
 * it stops. Listens to the scheduler's events for its counts (a few increments per request, on
 * the hot path); everything else (memory, the GPU query) happens once per sample. Its timer is
 * unref'd and cleared by `stop()`, so it never keeps a finished process alive.
 */
export class RunSampler implements Required<Pick<SchedulerListener, 'onRequestStart' | 'onRequestEnd' | 'onOutcome'>> {
  readonly #options: RunSamplerOptions;
  readonly #intervalMs: number;
  readonly #now: () => number;
  /** Server URL as the scheduler gives it -> the same without credentials, and its requests on the wire. */
  readonly #servers = new Map<string, { readonly shown: string; inFlight: number }>();
  #inFlight = 0;
  #done = 0;
  #failed = 0;
  #pending: number;
  #requestsEnded = 0;
  #completionTokens = 0;
  #last: { readonly at: number; readonly requestsEnded: number; readonly completionTokens: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The samples taken so far, delivered in order: each waits for its GPU reading. */
  #delivered: Promise<void> = Promise.resolve();
  #gpuReading = false;
  #state: 'new' | 'running' | 'stopped' = 'new';

  constructor(options: RunSamplerOptions) {
    checkWholeNumber('pending', options.pending, 0);
    if (typeof options.onSample !== 'function') throw optionError('onSample', 'a function', options.onSample);
    this.#options = options;
    this.#pending = options.pending;
    this.#intervalMs = checkNumber('intervalMs', options.intervalMs ?? defaults.sampleEveryMs, 1);
    this.#now = options.now ?? Date.now;
  }

  /**
   * The prompts this run has to send, as the total grows: a new job is sent while its inputs are
   * still being read, and `queued` counts what has been read so far.
   */
  setPending(pending: number): void {
    this.#pending = checkWholeNumber('pending', pending, 0);
  }

  onRequestStart(_item: PromptItem, serverUrl: string): void {
    this.#inFlight += 1;
    let server = this.#servers.get(serverUrl);
    if (server === undefined) {
      server = { shown: scrubSecrets(serverUrl) as string, inFlight: 0 };
      this.#servers.set(serverUrl, server);
    }
    server.inFlight += 1;
  }

  onRequestEnd(_item: PromptItem, serverUrl: string): void {
    this.#inFlight -= 1;
    this.#requestsEnded += 1;
    const server = this.#servers.get(serverUrl);
    if (server !== undefined) server.inFlight -= 1;
  }

  onOutcome(outcome: ItemOutcome): void {
    if (outcome.status === 'done') this.#done += 1;
    else this.#failed += 1;
    this.#completionTokens += outcome.completionTokens ?? 0;
  }

  /** Takes the first sample and starts the timer; resolves once the first sample is delivered. */
  start(): Promise<void> {
    if (this.#state !== 'new') throw new AppError('INTERNAL', `RunSampler.start() called on a sampler that is ${this.#state}; create one per run`);
    this.#state = 'running';
    this.#take();
    this.#timer = setInterval(() => this.#take(), this.#intervalMs);
    this.#timer.unref();
    return this.#delivered;
  }

  /** Clears the timer, takes the last sample and resolves once every sample is delivered. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return this.#delivered;
    const wasRunning = this.#state === 'running';
    this.#state = 'stopped';
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (wasRunning) this.#take(true);
    return this.#delivered;
  }

  /** The counts now, and the GPUs as soon as nvidia-smi answers; delivered after the samples before it. */
  #take(last = false): void {
    const at = this.#now();
    const previous = this.#last;
    const intervalMs = previous === undefined ? 0 : Math.max(0, at - previous.at);
    const perSecond = (count: number): number | null => (previous === undefined ? null : intervalMs > 0 ? (count * 1000) / intervalMs : 0);
    const memory = process.memoryUsage();
    const inFlightByServer: Record<string, number> = {};
    for (const server of this.#servers.values()) {
      if (server.inFlight > 0) inFlightByServer[server.shown] = (inFlightByServer[server.shown] ?? 0) + server.inFlight;
    }
    const counts = {
      jobId: this.#options.jobId,
      runId: this.#options.runId,
      at,
      intervalMs,
      done: this.#done,
      failed: this.#failed,
      queued: Math.max(0, this.#pending - this.#done - this.#failed - this.#inFlight),
      inFlight: this.#inFlight,
      inFlightByServer,
      requestsPerS: perSecond(this.#requestsEnded - (previous?.requestsEnded ?? 0)),
      tokensPerS: perSecond(this.#completionTokens - (previous?.completionTokens ?? 0)),
      rssBytes: memory.rss,
      heapBytes: memory.heapUsed,
    };
    this.#last = { at, requestsEnded: this.#requestsEnded, completionTokens: this.#completionTokens };
    // One nvidia-smi at a time: a tick that finds the last one still running goes without GPUs
    // rather than piling processes up behind a stuck driver. The last sample always asks.
    const gpu = this.#options.gpu !== undefined && (!this.#gpuReading || last) ? this.#readGpus() : Promise.resolve(undefined);
    const gpus = gpu.then((read) => (read === undefined ? null : read.map(copyGpu)));
    this.#delivered = this.#delivered.then(async () => {
      this.#options.onSample({ ...counts, gpus: await gpus });
    }).catch(() => undefined);
  }

  async #readGpus(): Promise<readonly GpuUsage[] | undefined> {
    this.#gpuReading = true;
    try {
      return await this.#options.gpu!.read();
    } catch {
      return undefined;
    } finally {
      this.#gpuReading = false;
    }
  }
}

function copyGpu(gpu: GpuUsage): GpuUsage {
  return { index: gpu.index, name: gpu.name, utilizationPct: gpu.utilizationPct, memoryUsedBytes: gpu.memoryUsedBytes, memoryTotalBytes: gpu.memoryTotalBytes };
}
