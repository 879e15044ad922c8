import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { profileModel } from '../../src/hardware/model-profile.js';
import { readGgufInfo } from '../../src/models/gguf-reader.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'batch-model-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('profileModel', () => {
  it('reports the true shape of a generated GGUF', async () => {
    const path = join(dir, 'tiny-gqa.gguf');
    const written = await writeTinyLlamaGguf(path, { blockCount: 3, headCount: 8, headCountKv: 2, embeddingLength: 128, contextLength: 1024 });
    const profile = profileModel(await readGgufInfo(path));
    expect(profile).toMatchObject({
      id: 'tiny-gqa',
      path,
      fileBytes: written.bytes,
      layers: 3,
      heads: 8,
      kvHeads: 2,
      headDim: 16, // 128 / 8
      trainedContext: 1024,
      kvBytesPerToken: 2 * 3 * 2 * 16 * 2, // K and V × layers × kv heads × head dim × f16
    });
    expect(profile.parameterCount).toBeGreaterThan(0);
    expect(profile.weightBytes).toBeLessThan(profile.fileBytes);
  });
});
