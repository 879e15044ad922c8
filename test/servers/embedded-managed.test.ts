import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServerError } from '../../src/errors.js';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { requestLocal } from '../../src/servers/request-local.js';
import { ManagedServer } from '../../src/servers/managed-server.js';
import { estimateModelMemory } from '../../src/servers/model-memory.js';
import { stopAllServers } from '../../src/servers/server-registry.js';
import { isAlive, makeTempDir } from './server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(async () => {
  await stopAllServers(1000);
  temp.cleanup();
});

function embedded(modelPath: string): ManagedServer {
  return new ManagedServer({ launch: { kind: 'embedded', threads: 1, gpu: 'off' }, modelPath, logDir: join(temp.dir, 'logs'), slots: 1, contextSize: 128, startupTimeoutMs: 60_000 });
}

describe('ManagedServer with the embedded server', () => {
  it('fails with MODEL_INVALID as the server printed it for a malformed GGUF', async () => {
    const path = join(temp.dir, 'bad.gguf');
    writeFileSync(path, 'GGUFxxxx');
    const error = await embedded(path).start().then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).code).toBe('MODEL_INVALID');
    expect((error as Error).message).toContain(`model ${path} is invalid`);
  });

  it('starts a tiny real model, answers after the warm-up, and stops', async () => {
    const path = join(temp.dir, 'tiny.gguf');
    await writeTinyLlamaGguf(path);
    const server = embedded(path);
    await server.start();
    expect(server.state).toBe('ready');
    expect((await requestLocal(`${server.url}/health`, { timeoutMs: 5000 })).statusCode).toBe(200);
    await server.stop(2000);
    expect(isAlive(server.pid!)).toBe(false);
  });
});

describe('estimateModelMemory', () => {
  it('adds the KV cache of every slot to the file size', async () => {
    const path = join(temp.dir, 'tiny.gguf');
    const written = await writeTinyLlamaGguf(path, { embeddingLength: 64, blockCount: 2, headCount: 4 });
    const estimate = await estimateModelMemory(path, { slots: 3, contextSize: 100 });
    // f16 K and V: 2 × blocks × kv heads × head dim × 2 bytes per token.
    const kvPerToken = 2 * 2 * 4 * 16 * 2;
    expect(estimate.kvCacheBytes).toBe(kvPerToken * 100 * 3);
    expect(estimate.weightsBytes).toBe(written.bytes);
    expect(estimate.totalBytes).toBe(estimate.weightsBytes + estimate.kvCacheBytes);
  });
});
