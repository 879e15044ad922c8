import os from 'node:os';
import { checkWholeNumber } from '../util/check-option.js';
import type { GpuSummary, HardwareSummary } from './hardware-summary.js';
import { countPhysicalCores } from './physical-cores.js';

export interface ProbeHardwareOptions {
  /**
   * Longest wait for the GPU query. systeminformation shells out to nvidia-smi / lspci, which can
   * hang on a wedged driver; past this the probe reports no GPU and says so in `notes`.
   * @default 1500
   */
  readonly graphicsTimeoutMs?: number;
}

/** The parts of a systeminformation graphics controller that the probe reads (MB = MiB there). */
export interface GraphicsControllerFields {
  readonly vendor?: string;
  readonly model?: string;
  readonly name?: string;
  readonly vram?: number | null;
  readonly memoryTotal?: number;
  readonly memoryUsed?: number;
  readonly memoryFree?: number;
  readonly utilizationGpu?: number;
  readonly temperatureGpu?: number;
}

const MIB = 2 ** 20;
/** Display adapters below this (VM framebuffers, BMC chips) cannot hold a model and are ignored. */
const MIN_GPU_VRAM_BYTES = 1024 * MIB;

/**
 * Reads CPU, memory, GPUs and OS. Never throws for a missing tool or an unreadable source: what
 * could not be read falls back to Node's `os` figures (or no GPU) and is explained in `notes`.
 * systeminformation is imported here only, lazily, so other commands never pay for it.
 */
export async function probeHardware(options: ProbeHardwareOptions = {}): Promise<HardwareSummary> {
  const graphicsTimeoutMs = checkWholeNumber('graphicsTimeoutMs', options.graphicsTimeoutMs ?? 1500, 1);
  const notes: string[] = [];
  let si: typeof import('systeminformation') | undefined;
  try {
    si = await import('systeminformation');
  } catch (error) {
    notes.push(`systeminformation could not be loaded (${(error as Error).message}); CPU and memory come from Node, GPUs were not probed`);
  }

  const [cpu, mem, osData, graphics] = await Promise.all([
    attempt(() => si?.cpu(), 'CPU details', notes),
    attempt(() => si?.mem(), 'memory', notes),
    attempt(() => si?.osInfo(), 'OS details', notes),
    si === undefined ? Promise.resolve(undefined) : withTimeout(si.graphics(), graphicsTimeoutMs, notes),
  ]);

  const platform = process.platform;
  const arch = process.arch;
  const unifiedMemory = platform === 'darwin' && arch === 'arm64';
  const totalMemory = mem?.total && mem.total > 0 ? mem.total : os.totalmem();
  const gpus = graphics === undefined ? [] : summarizeGraphics(graphics.controllers, notes, unifiedMemory ? totalMemory : undefined);
  if (graphics !== undefined && gpus.length === 0 && !unifiedMemory) {
    notes.push('no GPU found (no nvidia-smi or display adapter with VRAM): planning for the CPU');
  }
  const physicalCores = countPhysicalCores();
  return {
    cpu: {
      brand: [cpu?.manufacturer, cpu?.brand].filter((part) => part !== undefined && part !== '').join(' ') || (os.cpus()[0]?.model ?? ''),
      physicalCores,
      logicalCores: Math.max(physicalCores, os.availableParallelism()),
    },
    memory: {
      totalBytes: totalMemory,
      availableBytes: mem?.available && mem.available > 0 ? mem.available : os.freemem(),
    },
    gpus,
    unifiedMemory,
    os: {
      platform,
      distro: osData?.distro || platform,
      release: osData?.release || os.release(),
      arch,
    },
    notes,
  };
}

/**
 * Turns systeminformation's controllers into GPU summaries, dropping adapters too small to hold a
 * model (and noting them). nvidia-smi figures (memoryTotal/Used/Free) win over the PCI `vram`.
 * With unified memory (Apple silicon reports no VRAM of its own), the GPU's memory is all of it.
 */
export function summarizeGraphics(controllers: readonly GraphicsControllerFields[], notes: string[], unifiedMemoryBytes?: number): GpuSummary[] {
  const gpus: GpuSummary[] = [];
  for (const controller of controllers) {
    const model = controller.model || controller.name || 'unknown GPU';
    const totalMiB = positive(controller.memoryTotal) ?? positive(controller.vram ?? undefined) ?? (unifiedMemoryBytes === undefined ? undefined : unifiedMemoryBytes / MIB);
    if (totalMiB === undefined || totalMiB * MIB < MIN_GPU_VRAM_BYTES) {
      notes.push(`ignored display adapter "${model}" (${totalMiB === undefined ? 'no VRAM reported' : `${totalMiB} MiB VRAM`})`);
      continue;
    }
    const used = nonNegative(controller.memoryUsed);
    const free = nonNegative(controller.memoryFree);
    const utilization = nonNegative(controller.utilizationGpu);
    const temperature = nonNegative(controller.temperatureGpu);
    gpus.push({
      vendor: normaliseVendor(controller.vendor ?? '', model),
      model,
      vramTotalBytes: totalMiB * MIB,
      ...(used === undefined ? {} : { vramUsedBytes: used * MIB }),
      ...(free === undefined ? {} : { vramFreeBytes: free * MIB }),
      ...(utilization === undefined ? {} : { utilizationPercent: utilization }),
      ...(temperature === undefined ? {} : { temperatureC: temperature }),
    });
  }
  return gpus;
}

function normaliseVendor(vendor: string, model: string): string {
  const text = `${vendor} ${model}`.toLowerCase();
  if (text.includes('nvidia')) return 'NVIDIA';
  if (text.includes('advanced micro') || /\bamd\b|\bati\b|radeon/.test(text)) return 'AMD';
  if (text.includes('intel')) return 'Intel';
  if (text.includes('apple')) return 'Apple';
  return vendor || 'unknown';
}

function positive(value: number | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

function nonNegative(value: number | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

async function attempt<T>(read: () => Promise<T> | undefined, what: string, notes: string[]): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    notes.push(`${what} could not be read (${(error as Error).message}); using Node's figures`);
    return undefined;
  }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, notes: string[]): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  try {
    const result = await Promise.race([promise, timeout]);
    if (result === 'timeout') {
      // The query keeps running in the background; its answer is dropped, its rejection swallowed.
      promise.catch(() => undefined);
      notes.push(`GPU query (nvidia-smi / lspci) gave no answer within ${timeoutMs} ms: GPUs were skipped; pass --hardware profile.json to plan for them`);
      return undefined;
    }
    return result;
  } catch (error) {
    notes.push(`GPU query failed (${(error as Error).message}): GPUs were skipped; pass --hardware profile.json to plan for them`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
