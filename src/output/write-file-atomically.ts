import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { AppError, StoreError } from '../errors.js';
import { makeFolder } from '../util/make-folder.js';
import { openStreamTarget, outputTargetOf } from '../util/output-target.js';

/**
 * Writes `target` through `fill`, atomically: into `<target>.tmp` (0600, in a folder created
 * 0700 when missing), renamed over `target` once complete. Readers see the old file or the whole
 * new one, even if the process is killed meanwhile, and a `fill` that fails leaves no file. A
 * symbolic link is followed (the file it leads to is written so; the link stays); a character
 * device or a FIFO with a reader is written in place, as a stream (`outputTargetOf`); a folder,
 * a socket or a FIFO nobody reads is refused (USAGE, naming `flag`). A write error is
 * STORE_WRITE_FAILED naming the file; an AppError from `fill` passes as it is.
 */
export async function writeFileAtomically<T>(target: string, fill: (stream: Writable) => Promise<T>, flag = '--out'): Promise<T> {
  const where = outputTargetOf(target, flag);
  if (where.mode === 'stream') return writeInPlace(where, fill, flag);
  const file = where.file;
  const temporary = `${file}.tmp`;
  let stream;
  try {
    makeFolder(path.dirname(file), 0o700);
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

/** Streams `fill` to a device or FIFO, in place: no temporary file, nothing renamed over it. */
async function writeInPlace<T>(target: Parameters<typeof openStreamTarget>[0], fill: (stream: Writable) => Promise<T>, flag: string): Promise<T> {
  let stream;
  try {
    stream = createWriteStream(target.file, { fd: openStreamTarget(target, flag) });
  } catch (error) {
    throw error instanceof AppError ? error : outputFailed(target.file, error);
  }
  const failure = new Promise<never>((_, reject) => {
    stream.once('error', (error) => reject(outputFailed(target.file, error)));
  });
  failure.catch(() => undefined);
  try {
    const result = await Promise.race([fill(stream), failure]);
    stream.end();
    await Promise.race([once(stream, 'finish'), failure]);
    return result;
  } catch (error) {
    throw error instanceof AppError ? error : outputFailed(target.file, error);
  } finally {
    stream.destroy();
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
