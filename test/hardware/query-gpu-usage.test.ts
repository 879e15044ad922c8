import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GpuUsageReader, nvidiaSmiProcessArgs, nvidiaSmiUsageArgs, parseGpuUsage, parseProcessGpuMemory } from '../../src/hardware/query-gpu-usage.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-gpu-usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mib = 1024 * 1024;

/** A folder (for PATH) holding an executable `nvidia-smi` that runs `body` as a shell script. */
function fakeNvidiaSmi(name: string, body: string): string {
  const folder = path.join(dir, name);
  mkdirSync(folder, { recursive: true });
  const bin = path.join(folder, 'nvidia-smi');
  writeFileSync(bin, `#!/bin/sh\n${body}\n`);
  chmodSync(bin, 0o755);
  return folder;
}

describe('parseGpuUsage', () => {
  it('reads one GPU a line: index, name, utilisation, memory in MiB as bytes', () => {
    expect(parseGpuUsage('0, NVIDIA H200, 87, 40960, 143771\n1, NVIDIA GeForce RTX 4090, 3, 512, 24564\n')).toEqual([
      { index: 0, name: 'NVIDIA H200', utilizationPct: 87, memoryUsedBytes: 40960 * mib, memoryTotalBytes: 143771 * mib },
      { index: 1, name: 'NVIDIA GeForce RTX 4090', utilizationPct: 3, memoryUsedBytes: 512 * mib, memoryTotalBytes: 24564 * mib },
    ]);
  });

  it('turns [N/A] and [Not Supported] into null, keeps a comma inside a name, skips other lines', () => {
    const csv = 'No devices were found\r\n0, Tesla T4, [N/A], 15, [Not Supported]\r\n1, Some, Board, 50, 100, 200\r\n\r\nx, y, 1, 2, 3\r\n';
    expect(parseGpuUsage(csv)).toEqual([
      { index: 0, name: 'Tesla T4', utilizationPct: null, memoryUsedBytes: 15 * mib, memoryTotalBytes: null },
      { index: 1, name: 'Some, Board', utilizationPct: 50, memoryUsedBytes: 100 * mib, memoryTotalBytes: 200 * mib },
    ]);
  });
});

describe('GpuUsageReader', () => {
  it('is found only when nvidia-smi is on PATH', () => {
    expect(GpuUsageReader.find({ PATH: path.join(dir, 'nowhere') })).toBeUndefined();
    expect(GpuUsageReader.find({})).toBeUndefined();
    expect(GpuUsageReader.find({ PATH: fakeNvidiaSmi('found', 'exit 0') })).toBeInstanceOf(GpuUsageReader);
  });

  it('asks nvidia-smi for exactly the usage fields and parses its answer', async () => {
    // The fake answers only when asked the query it expects, as the real one would differ otherwise.
    const expected = nvidiaSmiUsageArgs.join(' ');
    const folder = fakeNvidiaSmi('answers', `[ "$*" = "${expected}" ] || { echo "unexpected args: $*" >&2; exit 9; }\necho "0, NVIDIA H200, 42, 1024, 143771"`);
    const reader = GpuUsageReader.find({ PATH: `${path.join(dir, 'nowhere')}${path.delimiter}${folder}` });
    expect(await reader!.read()).toEqual([{ index: 0, name: 'NVIDIA H200', utilizationPct: 42, memoryUsedBytes: 1024 * mib, memoryTotalBytes: 143771 * mib }]);
  });

  it('gives undefined, not an error, when nvidia-smi fails, answers nothing readable, or hangs past the timeout', async () => {
    const failing = GpuUsageReader.find({ PATH: fakeNvidiaSmi('failing', 'echo "NVIDIA-SMI has failed" >&2; exit 6') });
    expect(await failing!.read()).toBeUndefined();
    const garbled = GpuUsageReader.find({ PATH: fakeNvidiaSmi('garbled', 'echo "No devices were found"') });
    expect(await garbled!.read()).toBeUndefined();
    const hanging = GpuUsageReader.find({ PATH: fakeNvidiaSmi('hanging', 'exec sleep 30') }, { timeoutMs: 200 });
    expect(await hanging!.read()).toBeUndefined();
  });
});

describe('the GPU memory of each process (batch ps)', () => {
  it('reads pid and MiB a line, sums a process on two GPUs, skips what is not of that shape', () => {
    expect(parseProcessGpuMemory('4242, 2048\n4242, 1024\n77, [N/A]\nno, 5\n\n99, 512\n')).toEqual(new Map([[4242, 3072 * mib], [99, 512 * mib]]));
  });

  it('asks nvidia-smi for the compute processes, and says nothing when it fails', async () => {
    const reader = GpuUsageReader.find({ PATH: fakeNvidiaSmi('apps', `[ "$*" = "${nvidiaSmiProcessArgs.join(' ')}" ] && echo "123, 300" || exit 9`) });
    expect(await reader!.readProcessMemory()).toEqual(new Map([[123, 300 * mib]]));
    const failing = GpuUsageReader.find({ PATH: fakeNvidiaSmi('apps-failing', 'exit 9') });
    expect(await failing!.readProcessMemory()).toBeUndefined();
  });
});
