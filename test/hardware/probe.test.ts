import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { advise } from '../../src/hardware/advise.js';
import { probeHardware, summarizeGraphics } from '../../src/hardware/probe.js';
import { countPhysicalCores } from '../../src/hardware/physical-cores.js';

function hasNvidiaSmi(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'nvidia-smi')));
}

describe('probeHardware', () => {
  it('reports this machine without throwing: sane cores and memory, GPUs only when nvidia-smi exists', async () => {
    const hardware = await probeHardware();
    expect(hardware.cpu.physicalCores).toBe(countPhysicalCores());
    expect(hardware.cpu.logicalCores).toBeGreaterThanOrEqual(hardware.cpu.physicalCores);
    expect(hardware.memory.totalBytes).toBeGreaterThan(0);
    expect(hardware.memory.availableBytes).toBeGreaterThan(0);
    expect(hardware.memory.availableBytes).toBeLessThanOrEqual(hardware.memory.totalBytes);
    expect(hardware.os.platform).toBe(process.platform);
    expect(hardware.os.arch).toBe(process.arch);
    // Without nvidia-smi (as on the development machine, see SERVERS.md) no GPU can be found.
    if (!hasNvidiaSmi()) expect(hardware.gpus).toEqual([]);
    for (const gpu of hardware.gpus) expect(gpu.vramTotalBytes).toBeGreaterThanOrEqual(2 ** 30);
    expect(hardware.unifiedMemory).toBe(false);
    expect(JSON.parse(JSON.stringify(hardware))).toEqual(hardware);

    // Planned as it is: with no GPU, the assumed model goes to RAM with the CPU's slots and threads.
    if (hardware.gpus.length === 0) {
      const plan = advise(hardware, [], { contextSize: 4096 });
      const cores = hardware.cpu.physicalCores;
      expect(plan.assumption).toContain('no --model given');
      expect(plan.models[0]).toMatchObject({ pool: 'ram', gpuLayers: 0, fullOffload: false });
      // Up to 4 cores, one is left to batch itself.
      const threads = cores <= 4 ? Math.max(1, cores - 1) : cores;
      expect(plan.threads).toBe(threads);
      expect(plan.slots).toBeLessThanOrEqual(Math.max(1, Math.floor(cores / 2)));
      expect(plan.commands.batchRun).toContain(`--threads ${threads}`);
    }
  });

  it('rejects a bad timeout', async () => {
    await expect(probeHardware({ graphicsTimeoutMs: 0 })).rejects.toThrow('expected `graphicsTimeoutMs` to be a whole number >= 1, got 0');
  });
});

describe('summarizeGraphics', () => {
  it('reads nvidia-smi figures in MiB and drops adapters too small for a model', () => {
    const notes: string[] = [];
    const gpus = summarizeGraphics(
      [
        { vendor: 'NVIDIA Corporation', model: 'NVIDIA GeForce RTX 3090', vram: 24576, memoryTotal: 24576, memoryUsed: 512, memoryFree: 24064, utilizationGpu: 7, temperatureGpu: 41 },
        { vendor: 'Cirrus Logic', model: 'GD 5446', vram: 4 },
      ],
      notes,
    );
    expect(gpus).toEqual([
      {
        vendor: 'NVIDIA',
        model: 'NVIDIA GeForce RTX 3090',
        vramTotalBytes: 24576 * 2 ** 20,
        vramUsedBytes: 512 * 2 ** 20,
        vramFreeBytes: 24064 * 2 ** 20,
        utilizationPercent: 7,
        temperatureC: 41,
      },
    ]);
    expect(notes).toEqual(['ignored display adapter "GD 5446" (4 MiB VRAM)']);
  });
});

describe('summarizeGraphics on unified memory', () => {
  it('gives an Apple GPU without VRAM of its own the whole memory', () => {
    const notes: string[] = [];
    const gpus = summarizeGraphics([{ vendor: 'Apple', model: 'Apple M2 Max', vram: null }], notes, 64 * 2 ** 30);
    expect(gpus).toEqual([{ vendor: 'Apple', model: 'Apple M2 Max', vramTotalBytes: 64 * 2 ** 30 }]);
    expect(notes).toEqual([]);
  });
});
