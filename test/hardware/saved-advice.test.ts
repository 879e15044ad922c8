import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { advise } from '../../src/hardware/advise.js';
import { advicePath, loadAdvice, saveAdvice } from '../../src/hardware/saved-advice.js';
import { hardwareFixture } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'batch-advice-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('saved advice', () => {
  it('round-trips the run settings of a plan', () => {
    const home = join(root, 'home-a');
    const plan = advise(hardwareFixture('cpu-8c-32g.json'));
    expect(saveAdvice(home, plan, new Date('2026-01-02T03:04:05.000Z'))).toBe(join(home, 'advice.json'));
    // cpu-8c-32g.json: linux x64, AMD Ryzen 7 5800X, 8 physical / 16 logical cores, 32 GiB RAM, no GPU.
    expect(loadAdvice(home)).toEqual({
      workers: 4,
      maxModels: 3,
      slots: 4,
      contextSize: 4096,
      threads: 8,
      savedAt: '2026-01-02T03:04:05.000Z',
      hardwareFingerprint: plan.hardwareFingerprint,
    });
    expect(plan.hardwareFingerprint).toBe('linux-x64; AMD Ryzen 7 5800X 8c/16t; 32 GiB RAM');
    expect(advise(hardwareFixture('rtx3090.json')).hardwareFingerprint).toMatch(/; NVIDIA GeForce RTX 3090 24 GiB$/);
  });

  it('ignores a missing or malformed file instead of failing the run', () => {
    const home = join(root, 'home-b');
    expect(loadAdvice(home)).toBeUndefined();
    saveAdvice(home, advise(hardwareFixture('cpu-8c-32g.json')));
    writeFileSync(advicePath(home), '{"workers": 4, "maxModels": 0');
    expect(loadAdvice(home)).toBeUndefined();
    writeFileSync(advicePath(home), JSON.stringify({ workers: 4, maxModels: 0, slots: 4, contextSize: 4096, threads: 8, savedAt: '2026-01-02T03:04:05.000Z', hardwareFingerprint: 'x' }));
    expect(loadAdvice(home)).toBeUndefined();
    // Written before fingerprints existed: the machine is unknown, so it supplies no defaults.
    writeFileSync(advicePath(home), JSON.stringify({ workers: 4, maxModels: 1, slots: 4, contextSize: 4096, threads: 8, savedAt: '2026-01-02T03:04:05.000Z' }));
    expect(loadAdvice(home)).toBeUndefined();
  });
});
