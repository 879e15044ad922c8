import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { advise } from '../../src/hardware/advise.js';
import { profileModel } from '../../src/hardware/model-profile.js';
import { estimateModelMemory } from '../../src/models/estimate-model-memory.js';
import { readGgufInfo } from '../../src/models/gguf-reader.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { estimateModelMemory as estimateModelFileMemory } from '../../src/servers/model-memory.js';
import { hardwareFixture } from '../hardware/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'batch-model-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('estimateModelMemory', () => {
  it('is weights + KV bytes per token × context × slots', () => {
    expect(estimateModelMemory({ fileBytes: 1000, kvBytesPerToken: 10 }, { slots: 3, contextSize: 100 })).toEqual({ weightsBytes: 1000, kvCacheBytes: 3000, totalBytes: 4000 });
    // A header without the attention shape counts its weights only.
    expect(estimateModelMemory({ fileBytes: 1000 }, { slots: 3, contextSize: 100 })).toEqual({ weightsBytes: 1000, kvCacheBytes: 0, totalBytes: 1000 });
  });

  it('gives `batch optimize` and --memory-budget the same bytes for the same model file', async () => {
    const path = join(dir, 'tiny-gqa.gguf');
    const written = await writeTinyLlamaGguf(path, { blockCount: 3, headCount: 8, headCountKv: 2, embeddingLength: 128, contextLength: 1024 });
    const kvBytesPerToken = 2 * 3 * 2 * 16 * 2; // K and V × layers × kv heads × head dim × f16

    // `batch optimize`: the plan's placement of the profiled file.
    const plan = advise(hardwareFixture('cpu-8c-32g.json'), [profileModel(await readGgufInfo(path))], { contextSize: 512 });
    const placed = plan.models[0]!;
    expect(placed.slots).toBeGreaterThan(1);
    // --memory-budget: the managed pool's estimate of the same file, run as planned.
    const pool = await estimateModelFileMemory(path, { slots: placed.slots, contextSize: placed.contextPerSlot });

    expect(pool).toEqual({ weightsBytes: written.bytes, kvCacheBytes: kvBytesPerToken * 512 * placed.slots, totalBytes: written.bytes + kvBytesPerToken * 512 * placed.slots });
    expect({ weightsBytes: placed.weightsBytes, kvCacheBytes: placed.kvCacheBytes }).toEqual({ weightsBytes: pool.weightsBytes, kvCacheBytes: pool.kvCacheBytes });
  });
});
