import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { advise, ASSUMED_MODEL } from '../../src/hardware/advise.js';
import type { HardwareSummary } from '../../src/hardware/hardware-summary.js';
import { estimateModelMemory } from '../../src/models/estimate-model-memory.js';
import { probeHardware, summarizeGraphics } from '../../src/hardware/probe.js';
import { countPhysicalCores } from '../../src/hardware/physical-cores.js';

function hasNvidiaSmi(): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'nvidia-smi')));
}

/**
 * What `advise` must plan for `hardware` with no --model given, GPUs or not: the assumed model in
 * RAM on the CPU's slots without a GPU; on a GPU with room for it, wholly offloaded (else the
 * layers that fit, said by --gpu-layers); threads from the physical cores either way.
 */
function expectPlanOf(hardware: HardwareSummary): void {
  const plan = advise(hardware, [], { contextSize: 4096 });
  const cores = hardware.cpu.physicalCores;
  expect(plan.assumption).toContain('no --model given');
  // Up to 4 cores, one is left to batch itself.
  const threads = cores <= 4 ? Math.max(1, cores - 1) : cores;
  expect(plan.threads).toBe(threads);
  expect(plan.commands.batchRun).toContain(`--threads ${threads}`);
  const [model] = plan.models;
  if (hardware.gpus.length === 0) {
    expect(plan.pools.map((pool) => pool.kind)).toEqual(['ram']);
    expect(model).toMatchObject({ pool: 'ram', gpuLayers: 0, fullOffload: false });
    expect(plan.slots).toBeLessThanOrEqual(Math.max(1, Math.floor(cores / 2)));
    expect(plan.gpuLayers).toBeUndefined();
    return;
  }
  expect(plan.pools.map((pool) => [pool.kind, pool.totalBytes])).toEqual(hardware.gpus.map((gpu) => ['gpu', gpu.vramTotalBytes]));
  expect(model!.pool).toBe('gpu');
  const pool = plan.pools[model!.gpuIndex!]!;
  expect(plan.slots).toBeLessThanOrEqual(pool.slotCap);
  const footprint = estimateModelMemory(ASSUMED_MODEL, { slots: 1, contextSize: plan.contextSize }).totalBytes;
  if (plan.pools.some((candidate) => candidate.usableBytes >= footprint)) {
    expect(model).toMatchObject({ fullOffload: true, gpuLayers: ASSUMED_MODEL.layers });
    expect(pool.usableBytes).toBeGreaterThanOrEqual(footprint);
    expect(plan.gpuLayers).toBeUndefined();
  } else {
    expect(model!.fullOffload).toBe(false);
    expect(model!.gpuLayers).toBeLessThan(ASSUMED_MODEL.layers);
    expect(plan.gpuLayers).toBe(model!.gpuLayers);
  }
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

    // Planned as it is, and as it would be without its GPUs, with one 24 GiB GPU and with one too small for the model: the plan
    // checks run on every machine, whichever kind it is.
    expectPlanOf(hardware);
    expectPlanOf({ ...hardware, gpus: [] });
    expectPlanOf({ ...hardware, gpus: [{ vendor: 'NVIDIA', model: 'test 24 GiB', vramTotalBytes: 24 * 2 ** 30 }] });
    expectPlanOf({ ...hardware, gpus: [{ vendor: 'NVIDIA', model: 'test 4 GiB', vramTotalBytes: 4 * 2 ** 30 }] });
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
