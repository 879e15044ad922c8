import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Bytes read from each end of a model file for its sample hash. */
const sampleBytes = 1024 * 1024;

/**
 * What tells one model file from another at the same path, cheaply: its size, its modification
 * time, and a hash of its first MiB (the GGUF header and the start of its metadata: architecture,
 * name, shapes) and its last MiB (tensor data, where two fine-tunes of one base differ).
 */
export interface ModelIdentity {
  readonly path: string;
  readonly sizeBytes: number;
  readonly mtimeMs: number;
  /** sha256 of the sampled bytes, hex. */
  readonly sampleHash: string;
}

/** Reads a model file's identity: two reads of at most 1 MiB, whatever its size. */
export async function readModelIdentity(path: string): Promise<ModelIdentity> {
  const file = await open(path, 'r');
  try {
    const { size, mtimeMs } = await file.stat();
    const hash = createHash('sha256');
    const head = Buffer.alloc(Math.min(size, sampleBytes));
    await file.read(head, 0, head.length, 0);
    hash.update(head);
    const tailStart = Math.max(head.length, size - sampleBytes);
    const tail = Buffer.alloc(size - tailStart);
    await file.read(tail, 0, tail.length, tailStart);
    hash.update(tail);
    return { path, sizeBytes: size, mtimeMs: Math.round(mtimeMs), sampleHash: hash.digest('hex') };
  } finally {
    await file.close();
  }
}
