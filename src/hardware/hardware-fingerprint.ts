import { GIB_BYTES } from '../util/format-gib.js';
import type { HardwareSummary } from './hardware-summary.js';

/**
 * A short, readable identity of a machine for saved advice: what the plan's numbers depend on
 * (OS, architecture, cores, total memory, GPU models and VRAM), and nothing that changes while
 * it runs (free memory, utilisation, temperature), so the same machine always gives the same one.
 * `batch run` can compare it with the machine it runs on before trusting the advice.
 */
export function hardwareFingerprint(hardware: HardwareSummary): string {
  // Whole GiB, unlike formatGiB: free-memory noise must not change a machine's identity.
  const gib = (bytes: number): string => `${Math.round(bytes / GIB_BYTES)} GiB`;
  const parts = [
    `${hardware.os.platform}-${hardware.os.arch}`,
    `${hardware.cpu.brand} ${hardware.cpu.physicalCores}c/${hardware.cpu.logicalCores}t`,
    `${gib(hardware.memory.totalBytes)} RAM${hardware.unifiedMemory ? ' unified' : ''}`,
    ...hardware.gpus.map((gpu) => `${gpu.model} ${gib(gpu.vramTotalBytes)}`),
  ];
  return parts.join('; ');
}
