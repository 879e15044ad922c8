import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { readGgufInfo } from '../../src/models/gguf-reader.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { validateLlamaModel } from '../../src/models/validate-llama-model.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'batch-gguf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Vocabulary of the generated model: <unk>, <s>, </s>, 256 byte tokens and 12 word pieces. */
const VOCAB = 3 + 256 + 12;

function expectedParameters(E: number, blocks: number, ff: number, heads: number, kvHeads: number): number {
  const headDim = E / heads;
  const perBlock = E + E * heads * headDim + 2 * E * kvHeads * headDim + heads * headDim * E + E + 3 * E * ff;
  return 2 * E * VOCAB + E + blocks * perBlock;
}

async function invalidError(promise: Promise<unknown> | (() => unknown)): Promise<AppError> {
  try {
    if (typeof promise === 'function') promise();
    else await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an error');
}

describe('writeTinyLlamaGguf + readGgufInfo', () => {
  it('reads back the default shape', async () => {
    const path = join(dir, 'default.gguf');
    const written = await writeTinyLlamaGguf(path);
    const info = await readGgufInfo(path);
    expect(info).toMatchObject({
      path,
      fileBytes: written.bytes,
      version: 3,
      architecture: 'llama',
      name: 'tiny-llama',
      contextLength: 512,
      embeddingLength: 64,
      blockCount: 2,
      feedForwardLength: 128,
      headCount: 4,
      headCountKv: 4,
      headDim: 16,
      vocabSize: VOCAB,
      tensorCount: 3 + 2 * 9,
      parameterCount: expectedParameters(64, 2, 128, 4, 4),
      kvBytesPerToken: 2 * 2 * 4 * 16 * 2,
    });
    expect(info.weightBytes).toBe(info.parameterCount * 4);
    expect(info.metadata['llama.attention.layer_norm_rms_epsilon']).toBeCloseTo(1e-5);
    expect(info.metadata['tokenizer.ggml.model']).toBe('llama');
    expect(info.arrayLengths['tokenizer.ggml.token_type']).toBe(VOCAB);
    expect(info.metadata['tokenizer.ggml.tokens']).toBeUndefined();
    expect(() => validateLlamaModel(info)).not.toThrow();
  });

  it('reads back a custom shape with grouped-query attention', async () => {
    const path = join(dir, 'custom.gguf');
    await writeTinyLlamaGguf(path, { embeddingLength: 32, blockCount: 3, feedForwardLength: 48, headCount: 4, headCountKv: 2, contextLength: 1024, name: 'custom' });
    const info = await readGgufInfo(path);
    expect(info).toMatchObject({
      name: 'custom',
      contextLength: 1024,
      embeddingLength: 32,
      blockCount: 3,
      feedForwardLength: 48,
      headCount: 4,
      headCountKv: 2,
      headDim: 8,
      tensorCount: 3 + 3 * 9,
      parameterCount: expectedParameters(32, 3, 48, 4, 2),
      kvBytesPerToken: 2 * 3 * 2 * 8 * 2,
    });
    const bytes = await readFile(path);
    // Tensor data starts 32-byte aligned and every tensor is padded to 32 bytes.
    expect((bytes.length - info.weightBytes) % 32).toBe(0);
  });

  it('writes the same bytes for the same seed and different weights for another seed', async () => {
    await writeTinyLlamaGguf(join(dir, 'a.gguf'), { seed: 7 });
    await writeTinyLlamaGguf(join(dir, 'b.gguf'), { seed: 7 });
    await writeTinyLlamaGguf(join(dir, 'c.gguf'), { seed: 8 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => readFile(join(dir, `${name}.gguf`))));
    expect(a!.equals(b!)).toBe(true);
    expect(a!.equals(c!)).toBe(false);
    expect(a!.length).toBe(c!.length);
  });

  it('rejects shapes llama.cpp cannot run', async () => {
    const error = await invalidError(writeTinyLlamaGguf(join(dir, 'bad-shape.gguf'), { embeddingLength: 30, headCount: 4 }));
    expect(error.code).toBe('USAGE');
    expect(error.message).toContain('`embeddingLength`');
    expect((await invalidError(writeTinyLlamaGguf(join(dir, 'bad-shape.gguf'), { blockCount: 0 }))).message).toContain('got 0');
  });
});

describe('validateLlamaModel', () => {
  it.each(['llama.feed_forward_length', 'llama.attention.head_count', 'tokenizer.ggml.tokens', 'llama.attention.layer_norm_rms_epsilon'])(
    'names a missing %s',
    async (key) => {
      const path = join(dir, `without-${key}.gguf`);
      await writeTinyLlamaGguf(path, { omitKeys: [key] });
      const info = await readGgufInfo(path);
      const error = await invalidError(() => validateLlamaModel(info));
      expect(error.code).toBe('MODEL_INVALID');
      expect(error.message).toContain(`model ${path} is invalid: missing ${key}`);
    },
  );

  it('lets unknown architectures pass', async () => {
    const path = join(dir, 'no-arch.gguf');
    await writeTinyLlamaGguf(path, { omitKeys: ['general.architecture', 'llama.feed_forward_length'] });
    const info = await readGgufInfo(path);
    expect(info.architecture).toBe('unknown');
    expect(info.embeddingLength).toBeUndefined();
    expect(() => validateLlamaModel(info)).not.toThrow();
  });
});

describe('readGgufInfo on broken files', () => {
  it('rejects a file with a bad magic', async () => {
    const path = join(dir, 'not.gguf');
    await writeFile(path, 'PK\u0003\u0004 this is a zip, not a model');
    const error = await invalidError(readGgufInfo(path));
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toMatch(/^model .*not\.gguf is invalid: bad magic "PK\\u0003\\u0004".*expected a GGUF v2\/v3 file/);
  });

  it('rejects files truncated in the metadata and in the tensor data', async () => {
    const path = join(dir, 'cut.gguf');
    const { bytes } = await writeTinyLlamaGguf(path);
    await truncate(path, bytes - 1000);
    const inData = await invalidError(readGgufInfo(path));
    expect(inData.code).toBe('MODEL_INVALID');
    expect(inData.message).toContain('truncated (tensor data needs');
    await truncate(path, 200);
    const inMetadata = await invalidError(readGgufInfo(path));
    expect(inMetadata.code).toBe('MODEL_INVALID');
    expect(inMetadata.message).toContain('is invalid: truncated');
    await truncate(path, 2);
    expect((await invalidError(readGgufInfo(path))).message).toContain('too short for a GGUF header');
  });

  it('rejects an unsupported version', async () => {
    const path = join(dir, 'v1.gguf');
    await writeTinyLlamaGguf(path);
    const bytes = await readFile(path);
    bytes.writeUInt32LE(1, 4);
    await writeFile(path, bytes);
    const error = await invalidError(readGgufInfo(path));
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toContain('unsupported GGUF version 1');
  });

  it('reports a missing file as MODEL_FILE_NOT_FOUND (exit 2: the path is the user\'s)', async () => {
    const error = await invalidError(readGgufInfo(join(dir, 'absent.gguf')));
    expect(error.code).toBe('MODEL_FILE_NOT_FOUND');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('absent.gguf cannot be opened: no such file');
  });
});
