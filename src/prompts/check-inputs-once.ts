import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { PromptError } from '../errors.js';
import type { ResolvedInput } from './resolve-input.js';

/** One path an input reads, as the user typed the input. */
interface ReadPath {
  readonly realPath: string;
  /** Device and inode of a file: a hard link has another path but the same file behind it. */
  readonly fileId: string | undefined;
  readonly input: string;
  readonly folder: boolean;
}

/** The path with symbolic links resolved, so `a.jsonl` and a link to it are one file. */
async function realPathOf(filePath: string): Promise<string> {
  try {
    return await realpath(filePath);
  } catch {
    return path.resolve(filePath);
  }
}

async function fileIdOf(filePath: string): Promise<string | undefined> {
  try {
    const stats = await stat(filePath);
    return `${stats.dev}:${stats.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * The folders that read `inner` through (no dot-folder or dot-file on the way, as the folder
 * reader skips them): its ancestors, up to the first dot-named one.
 */
function* foldersReading(inner: string): Generator<string> {
  for (let current = inner; ; ) {
    const parent = path.dirname(current);
    if (parent === current || path.basename(current).startsWith('.')) return;
    yield parent;
    current = parent;
  }
}

function describe(read: ReadPath): string {
  return read.folder ? `the folder ${JSON.stringify(read.input)}` : JSON.stringify(read.input);
}

/**
 * Refuses a file the inputs name twice: twice by name (`in.jsonl ./in.jsonl`), once more through
 * its folder or a glob. Its prompts would otherwise be reported as duplicates of themselves, or,
 * where the two readings give them different custom_ids (a folder's files are named relative to
 * the folder), sent twice. `inputs` and `resolved` are parallel arrays.
 */
export async function checkInputsOnce(inputs: readonly string[], resolved: readonly ResolvedInput[]): Promise<void> {
  const reads: ReadPath[] = [];
  for (const [i, input] of resolved.entries()) {
    if (input.kind === 'folder') reads.push({ realPath: await realPathOf(input.folderPath), fileId: undefined, input: inputs[i]!, folder: true });
    else if (input.kind === 'files') {
      for (const file of input.files) reads.push({ realPath: await realPathOf(file.filePath), fileId: await fileIdOf(file.filePath), input: inputs[i]!, folder: false });
    }
  }
  // Linear in the files read (a glob may name a hundred thousand): each path is looked up, not
  // compared with every other.
  const firstAt = new Map<string, number>();
  const firstFileAt = new Map<string, number>();
  const folderAt = new Map<string, number>();
  /** For a folder path, the first read inside it (read through). */
  const firstInside = new Map<string, number>();
  for (const [j, later] of reads.entries()) {
    const candidates = [firstAt.get(later.realPath), later.fileId === undefined ? undefined : firstFileAt.get(later.fileId)];
    for (const folder of foldersReading(later.realPath)) candidates.push(folderAt.get(folder));
    if (later.folder) candidates.push(firstInside.get(later.realPath));
    const found = candidates.filter((i): i is number => i !== undefined);
    if (found.length > 0) {
      const earlier = reads[Math.min(...found)]!;
      const what = earlier.input === later.input ? `given twice (${describe(later)} twice)` : `given twice: as ${describe(earlier)} and as ${describe(later)}`;
      throw new PromptError('DUPLICATE_INPUT', later.input, `${what}; its prompts would be read twice: give each file once`);
    }
    if (!firstAt.has(later.realPath)) firstAt.set(later.realPath, j);
    if (later.fileId !== undefined && !firstFileAt.has(later.fileId)) firstFileAt.set(later.fileId, j);
    if (later.folder && !folderAt.has(later.realPath)) folderAt.set(later.realPath, j);
    for (const folder of foldersReading(later.realPath)) if (!firstInside.has(folder)) firstInside.set(folder, j);
  }
}
