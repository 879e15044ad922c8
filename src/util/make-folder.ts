import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates `folder` and every missing folder above it, one at a time, each with `mode`. Unlike
 * `mkdirSync(…, { recursive: true })`, which spins forever where a folder cannot be made although
 * its parent is there (`/proc/nope`: the kernel says ENOENT, Node makes the parent and tries
 * again), it throws at the first folder that cannot be made: an Error with that folder, the
 * system's code (`code`, as the original) and the reason in its message.
 */
export function makeFolder(folder: string, mode?: number): void {
  const missing: string[] = [];
  for (let current = path.resolve(folder); ; current = path.dirname(current)) {
    const kind = folderKind(current);
    if (kind === 'folder') break;
    if (kind === 'other') throw folderError(current, 'ENOTDIR', 'a file is in the way, not a folder');
    missing.push(current);
    if (path.dirname(current) === current) break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, mode === undefined ? undefined : { mode });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
      if (code === 'EEXIST' && folderKind(dir) === 'folder') continue;
      const reason = code === 'ENOENT' || code === 'EEXIST' ? 'the file system there does not let folders be made (or a link to nowhere is in the way)' : (error as Error).message;
      throw folderError(dir, code, reason, error);
    }
  }
}

function folderKind(file: string): 'folder' | 'other' | 'missing' {
  try {
    return statSync(file).isDirectory() ? 'folder' : 'other';
  } catch {
    // ENOTDIR: a file above it, which the walk up reaches; EACCES and the like: mkdir says why.
    return 'missing';
  }
}

function folderError(folder: string, code: string, reason: string, cause?: unknown): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`cannot create the folder ${folder} (${code}): ${reason}`, cause === undefined ? undefined : { cause });
  error.code = code;
  error.path = folder;
  return error;
}
