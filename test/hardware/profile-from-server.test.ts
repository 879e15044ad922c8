import { describe, expect, it } from 'vitest';
import { advise } from '../../src/hardware/advise.js';
import { profileFromServer } from '../../src/hardware/profile-from-server.js';
import { hardwareFixture } from './fixtures.js';

describe('profileFromServer', () => {
  it('builds a partial profile from an Ollama /api/tags size, estimating the KV cache', () => {
    // 9.84e9 bytes is twice the assumed 4.92e9-byte model: 2 × 131072 = 262144 KV bytes per token.
    const profile = profileFromServer({ id: 'qwen2.5:14b', sizeBytes: 9_840_000_000, contextLength: 32768 });
    expect(profile).toEqual({
      id: 'qwen2.5:14b',
      path: '',
      fileBytes: 9_840_000_000,
      weightBytes: 9_840_000_000,
      parameterCount: 0,
      layers: 0,
      heads: 0,
      kvHeads: 0,
      headDim: 0,
      trainedContext: 32768,
      kvBytesPerToken: 262_144,
    });
    // advise() plans for it like any profile: it fits on the 24 GB RTX 3090 entirely.
    const plan = advise(hardwareFixture('rtx3090.json'), [profile], { contextSize: 4096 });
    expect(plan.models[0]).toMatchObject({ model: 'qwen2.5:14b', pool: 'gpu', fullOffload: true });
  });

  it('warns by share, not layer count, when it does not fit a GPU', () => {
    const profile = profileFromServer({ id: 'big', sizeBytes: 9_840_000_000 });
    const plan = advise(hardwareFixture('laptop-8g.json'), [profile], { contextSize: 4096 });
    // KV: 262144 B/token × 4096 = 1073741824 B per slot; usable 7412593459 B (see advise.test.ts)
    // < 9840000000 + 1073741824 → partial. slots = min(8, 8 cores / 2) = 4;
    // 9840000000 + 4 × 1073741824 = 14134967296 B; floor(100 × 7412593459 / 14134967296) = 52%.
    expect(plan.models[0]).toMatchObject({ fullOffload: false, gpuLayers: 0, layers: 0, slots: 4 });
    expect(plan.warnings[0]).toContain('about 52% of it fits on the GPU, its layer count is unknown (pass its .gguf with --model for an exact -ngl)');
    expect(plan.warnings[0]).not.toContain('0 of 0 layers');
  });

  it('rejects a report without a usable size', () => {
    expect(() => profileFromServer({ id: 'm', sizeBytes: Number.NaN })).toThrow('server model report: expected `sizeBytes` to be a positive number, got null');
    expect(() => profileFromServer({ id: '', sizeBytes: 1 })).toThrow('expected `id` to be a non-empty string, got ""');
  });
});
