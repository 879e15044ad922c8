import type { GroupStats } from '../store/group-stats.js';
import type { SampleRecord } from '../store/samples.js';

/** The `batch` process's memory over a job, from its samples. */
export interface MemoryInsight {
  readonly startBytes: number;
  readonly peakBytes: number;
  readonly endBytes: number;
  /**
   * How much resident memory grew per 1,000 finished prompts (least-squares slope of RSS against
   * prompts finished); null when fewer than 1,000 prompts finished between the first and last
   * sample: too few to tell growth from the garbage collector's noise.
   */
  readonly growthPer1000PromptsBytes: number | null;
  readonly samples: number;
}

/** GPU use over a job, from its samples. */
export interface GpuInsight {
  /** Mean over samples of the mean utilisation of the GPUs. */
  readonly meanUtilizationPct: number;
  readonly samples: number;
  /** The GPUs seen, by name. */
  readonly names: readonly string[];
  /** Samples where prompts were waiting, and those of them with the GPUs under 50 %. */
  readonly waitingSamples: number;
  readonly idleWhileWaitingSamples: number;
}

/** What the report can tell about the servers and models, to name why a GPU sat idle. */
export interface UnderuseContext {
  readonly perServer: readonly GroupStats[];
  /** Model loads in the job, and the models it served. */
  readonly loads: number;
  readonly models: number;
  /** `--workers` and the servers' slots, when the job remembers them. */
  readonly workers?: number;
  readonly slotsPerServer?: number;
}

/** Resident memory at start, peak and end, and its growth per 1,000 prompts; null without RSS samples. */
export function memoryInsight(samples: readonly SampleRecord[]): MemoryInsight | null {
  const withRss = samples.filter((s): s is SampleRecord & { rssBytes: number } => s.rssBytes !== null);
  if (withRss.length === 0) return null;
  const xs = withRss.map((s) => s.done + s.failed);
  const ys = withRss.map((s) => s.rssBytes);
  const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanY = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxx = 0;
  let sxy = 0;
  xs.forEach((x, i) => {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (ys[i]! - meanY);
  });
  // Garbage collection moves RSS by megabytes: over fewer than a thousand prompts between the
  // first and last sample, a slope per 1,000 prompts is that noise scaled up, not a trend.
  const range = Math.max(...xs) - Math.min(...xs);
  return {
    startBytes: ys[0]!,
    peakBytes: Math.max(...ys),
    endBytes: ys[ys.length - 1]!,
    growthPer1000PromptsBytes: range >= 1000 && sxx > 0 ? (sxy / sxx) * 1000 : null,
    samples: withRss.length,
  };
}

/** The mean utilisation of a sample's GPUs, or undefined when it read none. */
export function sampleGpuPct(sample: SampleRecord): number | undefined {
  const values = sample.gpus.map((gpu) => gpu.utilizationPct).filter((v): v is number => v !== null);
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Mean GPU utilisation and how often it sat under 50 % while prompts waited; null without GPU samples. */
export function gpuInsight(samples: readonly SampleRecord[]): GpuInsight | null {
  const withGpu = samples.filter((s) => sampleGpuPct(s) !== undefined);
  if (withGpu.length === 0) return null;
  const pcts = withGpu.map((s) => sampleGpuPct(s)!);
  const waiting = withGpu.filter((s) => s.queued > 0);
  return {
    meanUtilizationPct: pcts.reduce((a, b) => a + b, 0) / pcts.length,
    samples: withGpu.length,
    names: [...new Set(withGpu.flatMap((s) => s.gpus.map((gpu) => gpu.name)))],
    waitingSamples: waiting.length,
    idleWhileWaitingSamples: waiting.filter((s) => sampleGpuPct(s)! < 50).length,
  };
}

/**
 * The warning of a GPU under 50 % while prompts were waiting (in at least a quarter of the samples
 * with prompts waiting, and two of them), naming the likeliest cause the data shows: model
 * switches (more loads than models), a slow server (one server's median latency over twice the
 * fastest's), else too few requests in flight for the servers' slots. Undefined when it kept busy.
 */
export function underuseWarning(samples: readonly SampleRecord[], gpu: GpuInsight | null, context: UnderuseContext): string | undefined {
  if (gpu === null || gpu.idleWhileWaitingSamples < 2 || gpu.idleWhileWaitingSamples * 4 < gpu.waitingSamples) return undefined;
  const idle = samples.filter((s) => s.queued > 0 && (sampleGpuPct(s) ?? 100) < 50);
  const meanInFlight = idle.reduce((a, s) => a + s.inFlight, 0) / idle.length;
  const head = `the GPU sat under 50% in ${gpu.idleWhileWaitingSamples} of ${gpu.waitingSamples} samples while prompts were waiting`;
  if (context.loads > context.models) {
    return `${head}: likely model switches (${context.loads} model loads for ${context.models} model(s)); raise --max-models if memory allows, or run one model's prompts at a time`;
  }
  const timed = context.perServer.filter((s) => s.latencyMs !== null);
  if (timed.length >= 2) {
    const slowest = timed.reduce((a, b) => (b.latencyMs!.p50 > a.latencyMs!.p50 ? b : a));
    const fastest = timed.reduce((a, b) => (b.latencyMs!.p50 < a.latencyMs!.p50 ? b : a));
    if (slowest.latencyMs!.p50 > 2 * fastest.latencyMs!.p50) {
      return `${head}: likely a slow server (${slowest.key}: p50 ${Math.round(slowest.latencyMs!.p50)} ms against ${Math.round(fastest.latencyMs!.p50)} ms at ${fastest.key}); check its load or leave it out`;
    }
  }
  const servers = Math.max(1, context.perServer.length);
  const slots = context.slotsPerServer === undefined ? '' : ` for ${servers * context.slotsPerServer} slot(s)`;
  const workers = context.workers === undefined ? '' : ` (--workers ${context.workers})`;
  return `${head}: likely too few workers for the slots: ${meanInFlight.toFixed(1)} request(s) in flight on average${slots}${workers}; raise --workers, or --slots on the servers`;
}
