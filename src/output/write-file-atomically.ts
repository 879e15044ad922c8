import { once } from 'node:events';
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { AppError, StoreError } from '../errors.js';

/**
 * Writes `target` through `fill`, atomically: into `<target>.tmp` (0600, in a folder created
 * 0700 when missing), renamed over `target` once complete. Readers see the old file or the whole
 * new one, even if the process is killed meanwhile, and a `fill` that fails leaves no file. A
 * write error is STORE_WRITE_FAILED naming the file; an AppError from `fill` passes as it is.
 */
export async function writeFileAtomically<T>(target: string, fill: (stream: Writable) => Promise<T>): Promise<T> {
  const file = path.resolve(target);
  const temporary = `${file}.tmp`;
  let stream;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // A stale .tmp from a killed export may have other permissions; mode applies only on create.
    rmSync(temporary, { force: true });
    stream = createWriteStream(temporary, { mode: 0o600, flags: 'wx' });
    await once(stream, 'open');
  } catch (error) {
    stream?.destroy();
    throw outputFailed(file, error);
  }
  const failure = new Promise<never>((_, reject) => {
    stream.once('error', (error) => reject(outputFailed(file, error)));
  });
  // Keeps an early stream error from being reported as unhandled before the race sees it.
  failure.catch(() => undefined);
  try {
    const result = await Promise.race([fill(stream), failure]);
    stream.end();
    await Promise.race([once(stream, 'finish'), failure]);
    renameSync(temporary, file);
    return result;
  } catch (error) {
    stream.destroy();
    rmSync(temporary, { force: true });
    throw error instanceof AppError ? error : outputFailed(file, error);
  }
}

/** An output file that cannot be written: which, why, and what to do. */
export function outputFailed(target: string, cause: unknown): StoreError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new StoreError(
    'STORE_WRITE_FAILED',
    `cannot write output file ${target}: ${message}; check that its folder is writable and has space, or pass another --out`,
    cause,
  );
}
