import { GpuUsageReader } from '../hardware/query-gpu-usage.js';
import { composeListeners } from '../scheduler/listener-set.js';
import type { SchedulerListener } from '../scheduler/scheduler-listener.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import type { RunSample } from '../store/run-sample.js';
import type { StatusCounts } from '../store/store-records.js';
import type { MetricsEndpoint } from './metrics-endpoint.js';
import type { RunMetrics } from './run-metrics.js';
import { promptMetric, sampleMetric, type MetricsContext } from './metric-lines.js';
import { MetricsWriter } from './metrics-writer.js';
import { RunSampler } from './run-sampler.js';

/** What `startRunTelemetry` records, and where. */
export interface RunTelemetryOptions {
  /** Where samples are stored, and the job's prompts counted (the job's `CheckpointStore`). */
  readonly store: { insertSample(sample: RunSample): void; countByStatus(jobId: number): StatusCounts };
  readonly job: string;
  readonly jobId: number;
  readonly runId: number;
  /** Prompts this run has to send. */
  readonly pending: number;
  /** `--metrics`: the JSONL file lines are appended to; none: no file. */
  readonly metricsPath?: string;
  /** `--metrics-listen`: where Prometheus metrics of the run are served (`host:port`); none: not served. */
  readonly metricsListen?: string;
  /** Where nvidia-smi is looked up (`PATH`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Told once when samples or metrics cannot be written (the run goes on without them). */
  readonly notice?: (line: string) => void;
  /** Time between samples. @default 5000 */
  readonly intervalMs?: number;
  /** Reads the GPUs. @default nvidia-smi when it is on `env.PATH`, else none */
  readonly gpu?: { read(): ReturnType<GpuUsageReader['read']> } | null;
}

/** A run's sampling and metrics, started; `listener` joins the run's `ListenerSet`. */
export interface RunTelemetry {
  readonly listener: SchedulerListener;
  /** The prompts this run has to send, while the total grows (inputs still being read). */
  setPending(pending: number): void;
  /** Takes the last sample, writes what is buffered and closes the metrics file. Never throws. */
  stop(): Promise<void>;
}

/**
 * Samples a run into the job database (and the metrics file) and writes one metrics line per
 * finished prompt. Opening `metricsPath` is the only step that can fail (USAGE): call it before
 * the first request. Later write failures are told once through `notice` and never fail the run.
 */
export async function startRunTelemetry(options: RunTelemetryOptions): Promise<RunTelemetry> {
  const metrics = options.metricsPath === undefined ? undefined : await MetricsWriter.open(options.metricsPath);
  // prom-client is loaded only when metrics are served.
  const served = options.metricsListen === undefined ? undefined : await serveMetrics(options, options.metricsListen);
  const context: MetricsContext = { job: options.job, runId: options.runId };
  let sampleFailure: string | undefined;
  const sampler = new RunSampler({
    jobId: options.jobId,
    runId: options.runId,
    pending: options.pending,
    intervalMs: options.intervalMs,
    gpu: options.gpu === undefined ? GpuUsageReader.find(options.env) : (options.gpu ?? undefined),
    onSample: (sample) => {
      metrics?.write(sampleMetric(sample, context));
      served?.metrics.onSample(sample);
      try {
        options.store.insertSample(sample);
      } catch (error) {
        if (sampleFailure === undefined) {
          sampleFailure = (error as Error).message;
          options.notice?.(`samples of the run are not recorded: ${sampleFailure}`);
        }
      }
    },
  });
  // The sampler counts; the metrics file gets one line per finished prompt. Only the listeners
  // in use join: each one more is a call per event on the hot path.
  const writer = metrics === undefined ? undefined : { onOutcome: (outcome: ItemOutcome) => metrics.write(promptMetric(outcome, context)) };
  const listener = composeListeners(sampler, writer, served?.metrics.listener);
  // The first sample is the first line: a prompt that finishes at once comes after it.
  await sampler.start();
  return {
    listener,
    setPending: (pending) => sampler.setPending(pending),
    async stop(): Promise<void> {
      await sampler.stop();
      await served?.endpoint.close();
      if (metrics === undefined) return;
      await metrics.close();
      if (metrics.error !== undefined) {
        options.notice?.(`--metrics ${metrics.path}: writing stopped: ${metrics.error.message}; ${metrics.dropped} line(s) were not written (the job database has every result)`);
      } else if (metrics.dropped > 0) {
        options.notice?.(`--metrics ${metrics.path}: ${metrics.dropped} line(s) were dropped because the file could not keep up (the job database has every result)`);
      }
    },
  };
}

/** The run's Prometheus metrics, served at `listen` until the run stops. */
async function serveMetrics(options: RunTelemetryOptions, listen: string): Promise<{ readonly metrics: RunMetrics; readonly endpoint: MetricsEndpoint }> {
  const [{ RunMetrics }, { parseMetricsAddress, startMetricsEndpoint }] = await Promise.all([import('./run-metrics.js'), import('./metrics-endpoint.js')]);
  const metrics = new RunMetrics({ job: options.job, counts: () => options.store.countByStatus(options.jobId) });
  const endpoint = await startMetricsEndpoint(parseMetricsAddress(listen), () => metrics.exposition(), options.notice);
  options.notice?.(`Prometheus metrics of the run at ${endpoint.url}`);
  return { metrics, endpoint };
}
