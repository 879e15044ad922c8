import os from 'node:os';
import { expect, it } from 'vitest';
import { countCoresInCpuinfo, countPhysicalCores } from '../../src/hardware/physical-cores.js';

it('counts at least one and at most the logical CPUs', () => {
  const cores = countPhysicalCores();
  expect(Number.isInteger(cores)).toBe(true);
  expect(cores).toBeGreaterThanOrEqual(1);
  expect(cores).toBeLessThanOrEqual(os.availableParallelism());
});

it('counts distinct (physical id, core id) pairs, not hyper-threads', () => {
  const cpu = (n: number, physical: number, core: number): string =>
    `processor\t: ${n}\nmodel name\t: Test CPU\nphysical id\t: ${physical}\ncore id\t\t: ${core}\n`;
  const twoSocketsWithSmt = [cpu(0, 0, 0), cpu(1, 0, 1), cpu(2, 0, 0), cpu(3, 0, 1), cpu(4, 1, 0), cpu(5, 1, 1), cpu(6, 1, 0), cpu(7, 1, 1)].join('\n');
  expect(countCoresInCpuinfo(twoSocketsWithSmt)).toBe(4);
  expect(countCoresInCpuinfo('processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n')).toBe(0);
});
