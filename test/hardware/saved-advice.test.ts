import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { advise } from '../../src/hardware/advise.js';
import { advicePath, findAdviceFor, loadAdvice, saveAdvice } from '../../src/hardware/saved-advice.js';
import { machineIdentity } from '../../src/hardware/machine-identity.js';
import { hardwareFixture } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'batch-advice-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('saved advice', () => {
  it('round-trips the run settings of a plan', () => {
    const home = join(root, 'home-a');
    const plan = advise(hardwareFixture('cpu-8c-32g.json'), [], { contextSize: 4096 });
    expect(saveAdvice(home, plan, 'machine-a', new Date('2026-01-02T03:04:05.000Z'))).toBe(join(home, 'advice.json'));
    // cpu-8c-32g.json: linux x64, AMD Ryzen 7 5800X, 8 physical / 16 logical cores, 32 GiB RAM, no GPU.
    expect(loadAdvice(home)).toEqual({
      workers: 4,
      maxModels: 3,
      slots: 4,
      contextSize: 4096,
      threads: 8,
      savedAt: '2026-01-02T03:04:05.000Z',
      hardwareFingerprint: plan.hardwareFingerprint,
      machine: 'machine-a',
    });
    expect(plan.hardwareFingerprint).toBe('linux-x64; AMD Ryzen 7 5800X 8c/16t; 32 GiB RAM');
    expect(advise(hardwareFixture('rtx3090.json'), [], { contextSize: 4096 }).hardwareFingerprint).toMatch(/; NVIDIA GeForce RTX 3090 24 GiB$/);
  });

  it('saves no --max-models from a plan of one model (1 of 1 fits would hold a later multi-model run to one), but does from several', () => {
    const home = join(root, 'home-one-model');
    const one = { ...advise(hardwareFixture('cpu-8c-32g.json'), [], { contextSize: 4096 }), assumption: undefined };
    const single = { ...one, models: one.models.slice(0, 1), maxModels: 1 };
    saveAdvice(home, single, 'machine-one', new Date('2026-01-02T03:04:05.000Z'));
    expect(JSON.parse(readFileSync(advicePath(home), 'utf8'))).not.toHaveProperty('maxModels');
    const loaded = loadAdvice(home);
    expect(loaded).toMatchObject({ workers: single.workers, slots: single.slots, machine: 'machine-one' });
    expect(loaded).not.toHaveProperty('maxModels');
    saveAdvice(home, { ...single, models: [one.models[0]!, one.models[0]!], maxModels: 2 }, 'machine-one');
    expect(loadAdvice(home)?.maxModels).toBe(2);
  });

  it('keeps the throughput `optimize --measure` measured, and drops a malformed one without dropping the advice', () => {
    const home = join(root, 'home-measured');
    const plan = advise(hardwareFixture('cpu-8c-32g.json'), [], { contextSize: 4096 });
    const measured = { model: '/models/m.gguf', completionTokensPerSecond: 41.5, concurrency: 4 };
    saveAdvice(home, plan, 'machine-m', new Date('2026-01-02T03:04:05.000Z'), measured);
    expect(loadAdvice(home)?.measured).toEqual(measured);
    const saved = JSON.parse(readFileSync(advicePath(home), 'utf8'));
    writeFileSync(advicePath(home), JSON.stringify({ ...saved, measured: { model: '/models/m.gguf', completionTokensPerSecond: -1, concurrency: 4 } }));
    expect(loadAdvice(home)).toMatchObject({ workers: plan.workers, machine: 'machine-m' });
    expect(loadAdvice(home)?.measured).toBeUndefined();
  });

  it('ignores a missing or malformed file instead of failing the run', () => {
    const home = join(root, 'home-b');
    expect(loadAdvice(home)).toBeUndefined();
    saveAdvice(home, advise(hardwareFixture('cpu-8c-32g.json'), [], { contextSize: 4096 }), 'machine-b');
    writeFileSync(advicePath(home), '{"workers": 4, "maxModels": 0');
    expect(loadAdvice(home)).toBeUndefined();
    writeFileSync(advicePath(home), JSON.stringify({ workers: 4, maxModels: 0, slots: 4, contextSize: 4096, threads: 8, savedAt: '2026-01-02T03:04:05.000Z', hardwareFingerprint: 'x' }));
    expect(loadAdvice(home)).toBeUndefined();
    // Written before fingerprints existed: the machine is unknown, so it supplies no defaults.
    writeFileSync(advicePath(home), JSON.stringify({ workers: 4, maxModels: 1, slots: 4, contextSize: 4096, threads: 8, savedAt: '2026-01-02T03:04:05.000Z' }));
    expect(loadAdvice(home)).toBeUndefined();
  });

  it('is found only on the machine it was planned for', () => {
    const home = join(root, 'home-c');
    expect(findAdviceFor(home, 'here')).toEqual({});
    const plan = advise(hardwareFixture('cpu-8c-32g.json'), [], { contextSize: 4096 });
    saveAdvice(home, plan, 'here');
    expect(findAdviceFor(home, 'here').advice?.workers).toBe(plan.workers);
    const elsewhere = findAdviceFor(home, 'there');
    expect(elsewhere.advice).toBeUndefined();
    expect(elsewhere.staleReason).toContain('was planned for "here", not this one ("there")');
    // Saved before advice named its machine: never applied.
    writeFileSync(advicePath(home), JSON.stringify({ workers: 4, maxModels: 1, slots: 4, contextSize: 4096, threads: 8, savedAt: '2026-01-02T03:04:05.000Z', hardwareFingerprint: 'x' }));
    expect(findAdviceFor(home, 'here').staleReason).toContain('an unnamed machine (saved by an older batch)');
  });

  it('is written 0600 in a 0700 folder, like the job databases', () => {
    const home = join(root, 'home-d');
    saveAdvice(home, advise(hardwareFixture('cpu-8c-32g.json'), [], { contextSize: 4096 }), 'here');
    expect(statSync(advicePath(home)).mode & 0o777).toBe(0o600);
    expect(statSync(home).mode & 0o777).toBe(0o700);
  });
});

describe('machineIdentity', () => {
  it('is the same on every call on one machine, and names OS, CPU count and memory', () => {
    expect(machineIdentity()).toBe(machineIdentity());
    expect(machineIdentity()).toMatch(new RegExp(`^${process.platform}-${process.arch}; .+ x${cpus().length}; \\d+ GiB RAM$`));
  });
});
