import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { makeFolder } from './make-folder.js';
import { openStreamTarget, outputTargetOf } from './output-target.js';

/** How `writeTextFile` treats a missing folder. */
export interface WriteTextFileOptions {
  /** Create the file's folder (0700) when it is missing. @default false */
  readonly createFolder?: boolean;
}

/**
 * Writes `text` to `file` as `outputTargetOf` says: a file (or the file a symbolic link leads to)
 * through `<file>.<pid>.partial` in its folder (created 0700 when missing and `createFolder`; else
 * the system's ENOENT), 0600, renamed over it,
 * so that a reader (a browser, a run loading advice) never sees half of it; a character device
 * or a FIFO with a reader in place. Throws USAGE (naming `flag`) for a path that is no file nor
 * device, or a FIFO nobody reads; the system's error for a write that fails.
 */
export function writeTextFile(file: string, text: string, flag: string, options: WriteTextFileOptions = {}): void {
  const target = outputTargetOf(file, flag);
  if (target.mode === 'stream') {
    const fd = openStreamTarget(target, flag);
    try {
      writeAll(fd, Buffer.from(text));
    } finally {
      closeSync(fd);
    }
    return;
  }
  if (options.createFolder === true) makeFolder(path.dirname(target.file), 0o700);
  const partial = `${target.file}.${process.pid}.partial`;
  try {
    const fd = openSync(partial, 'w', 0o600);
    try {
      writeAll(fd, Buffer.from(text));
    } finally {
      closeSync(fd);
    }
    renameSync(partial, target.file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}
