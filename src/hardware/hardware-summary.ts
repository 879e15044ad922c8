/**
 * What `batch optimize` knows about the machine. Plain JSON-able data: `probeHardware()` fills it
 * on this machine, `--hardware profile.json` reads one written elsewhere, and `advise()` plans
 * from it without touching the machine.
 */

export interface CpuSummary {
  /** Marketing name, e.g. "AMD Ryzen 9 7950X"; '' when unknown. */
  readonly brand: string;
  /** Cores without hyper-threads: llama.cpp threads are capped by this. */
  readonly physicalCores: number;
  readonly logicalCores: number;
}

export interface MemorySummary {
  readonly totalBytes: number;
  /** What the OS can hand out now without swapping (page cache counts as available). */
  readonly availableBytes: number;
}

export interface GpuSummary {
  /** 'NVIDIA', 'AMD', 'Intel', 'Apple' or the name the driver reports. */
  readonly vendor: string;
  readonly model: string;
  readonly vramTotalBytes: number;
  readonly vramUsedBytes?: number;
  /** Free VRAM when the driver says (nvidia-smi); other processes' allocations are already gone from it. */
  readonly vramFreeBytes?: number;
  readonly utilizationPercent?: number;
  readonly temperatureC?: number;
}

export interface OsSummary {
  /** `process.platform` values: 'linux', 'darwin', 'win32', … */
  readonly platform: string;
  readonly distro: string;
  readonly release: string;
  /** `process.arch` values: 'x64', 'arm64', … */
  readonly arch: string;
}

export interface HardwareSummary {
  readonly cpu: CpuSummary;
  readonly memory: MemorySummary;
  /** Discrete (or integrated) GPUs, in the driver's order: index i is CUDA device i. [] when none. */
  readonly gpus: readonly GpuSummary[];
  /** CPU and GPU share one memory pool (Apple silicon): plan from `memory`, not from `gpus`. */
  readonly unifiedMemory: boolean;
  readonly os: OsSummary;
  /** What could not be read, and why (a missing tool, a timeout). */
  readonly notes: readonly string[];
}
