import { formatGiB, GIB_BYTES } from '../util/format-gib.js';
import type { HardwareSummary } from './hardware-summary.js';
import type { MemoryPool } from './optimization-plan.js';

/** llama.cpp's CUDA/Metal compute buffers, fragmentation and the desktop live in this share of VRAM. */
const VRAM_HEADROOM_SHARE = 0.1;
/** The OS, page cache and `batch` itself need at least this much RAM. */
const RAM_HEADROOM_MIN_BYTES = 2 * GIB_BYTES;
const RAM_HEADROOM_SHARE = 0.1;
/** Metal lets the GPU wire about three quarters of unified memory by default. */
const UNIFIED_GPU_SHARE = 0.75;

/** Parallel sequences worth running on a GPU pool: big GPUs keep gaining up to 32, small ones flatten at 4-8. */
export function gpuSlotCap(poolBytes: number): number {
  if (poolBytes >= 40e9) return 32;
  if (poolBytes >= 16e9) return 16;
  return 8;
}

/** On the CPU, two threads per sequence keep each sequence's matrix work busy. */
export function cpuSlotCap(physicalCores: number): number {
  return Math.max(1, Math.floor(physicalCores / 2));
}

/** System RAM: available minus max(2 GiB, 10% of total). Always built: partial offload spills into it. */
export function ramPool(hardware: HardwareSummary): MemoryPool {
  const { totalBytes, availableBytes } = hardware.memory;
  const headroomBytes = Math.max(RAM_HEADROOM_MIN_BYTES, Math.ceil(RAM_HEADROOM_SHARE * totalBytes));
  return {
    kind: 'ram',
    name: 'RAM',
    totalBytes,
    headroomBytes,
    usableBytes: Math.max(0, availableBytes - headroomBytes),
    slotCap: cpuSlotCap(hardware.cpu.physicalCores),
  };
}

/**
 * The pools models are placed in: one per GPU; one unified pool on Apple silicon; else RAM.
 * A GPU's usable bytes start from its free VRAM when the driver says (other processes hold the
 * rest), else its total.
 */
export function modelPools(hardware: HardwareSummary): MemoryPool[] {
  if (hardware.unifiedMemory) {
    const ram = ramPool(hardware);
    const usableBytes = Math.min(ram.usableBytes, Math.floor(UNIFIED_GPU_SHARE * hardware.memory.totalBytes));
    return [{ kind: 'unified', name: 'unified memory', totalBytes: ram.totalBytes, headroomBytes: ram.headroomBytes, usableBytes, slotCap: gpuSlotCap(usableBytes) }];
  }
  if (hardware.gpus.length === 0) return [ramPool(hardware)];
  return hardware.gpus.map((gpu, gpuIndex) => {
    const headroomBytes = Math.ceil(VRAM_HEADROOM_SHARE * gpu.vramTotalBytes);
    const freeBytes = Math.min(gpu.vramFreeBytes ?? gpu.vramTotalBytes, gpu.vramTotalBytes);
    return {
      kind: 'gpu',
      gpuIndex,
      name: `GPU ${gpuIndex} (${gpu.model})`,
      totalBytes: gpu.vramTotalBytes,
      headroomBytes,
      usableBytes: Math.max(0, freeBytes - headroomBytes),
      slotCap: gpuSlotCap(gpu.vramTotalBytes),
    };
  });
}

/** Why each pool's usable figure is what it is. */
export function explainPool(pool: MemoryPool, hardware: HardwareSummary): string {
  const gib = formatGiB;
  if (pool.kind === 'gpu') {
    const gpu = hardware.gpus[pool.gpuIndex!]!;
    const start = gpu.vramFreeBytes === undefined ? `${gib(gpu.vramTotalBytes)} GiB total` : `${gib(Math.min(gpu.vramFreeBytes, gpu.vramTotalBytes))} GiB free`;
    return `${pool.name}: ${start} − ${gib(pool.headroomBytes)} GiB headroom (10% of VRAM) = ${gib(pool.usableBytes)} GiB usable; up to ${pool.slotCap} slots on a ${gib(pool.totalBytes)} GiB GPU`;
  }
  const base = `${gib(hardware.memory.availableBytes)} GiB available − ${gib(pool.headroomBytes)} GiB headroom (max(2 GiB, 10% of ${gib(pool.totalBytes)} GiB))`;
  if (pool.kind === 'unified') {
    return `${pool.name}: ${base}, at most 75% of it for the GPU (Metal's default limit) = ${gib(pool.usableBytes)} GiB usable; up to ${pool.slotCap} slots`;
  }
  return `${pool.name}: ${base} = ${gib(pool.usableBytes)} GiB usable; up to ${pool.slotCap} slots (physical cores / 2)`;
}
