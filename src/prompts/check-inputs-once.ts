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

/** Whether `inner` lies in the folder `outer` where the folder reader would read it (no dot-folder or dot-file on the way). */
function readThrough(outer: string, inner: string): boolean {
  const relative = path.relative(outer, inner);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return false;
  return relative === '' || relative.split(path.sep).every((part) => !part.startsWith('.'));
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
  for (const [j, later] of reads.entries()) {
    for (const earlier of reads.slice(0, j)) {
      const overlap =
        earlier.realPath === later.realPath ||
        (earlier.fileId !== undefined && earlier.fileId === later.fileId) ||
        (earlier.folder && readThrough(earlier.realPath, later.realPath)) || (later.folder && readThrough(later.realPath, earlier.realPath));
      if (!overlap) continue;
      const what = earlier.input === later.input ? `given twice (${describe(later)} twice)` : `given twice: as ${describe(earlier)} and as ${describe(later)}`;
      throw new PromptError('DUPLICATE_INPUT', later.input, `${what}; its prompts would be read twice: give each file once`);
    }
  }
}
