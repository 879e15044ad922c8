import { stat } from 'node:fs/promises';
import path from 'node:path';
import { PromptError } from '../errors.js';
import { expandGlob, isGlobPattern } from './expand-glob.js';
import { toPosixPath } from './posix-path.js';
import { PROMPT_FILE_EXTENSIONS, promptFileKind, type PromptFileKind } from './prompt-file-kind.js';

/** One file to read, named as the user sees it. */
export interface InputFile {
  readonly filePath: string;
  /** Source of the file's records (JSONL lines add `:<line>`). */
  readonly display: string;
  readonly kind: PromptFileKind;
  /** custom_id of a .txt/.md prompt: its path relative to cwd. */
  readonly customId: string;
}

/** What one command-line input turned out to be. */
export type ResolvedInput =
  | { readonly kind: 'stdin' }
  | { readonly kind: 'folder'; readonly folderPath: string; readonly display: string }
  | { readonly kind: 'files'; readonly files: readonly InputFile[] };

const NOT_FOUND = 'no such file or folder; expected a folder of .txt/.md prompts, a .jsonl file, a glob, or - for stdin';

/**
 * Finds out what an input names: `-`, a folder, a file, or (when no such path exists) a glob.
 * Throws PROMPT_FILE_INVALID for a path that matches nothing or a file of an unknown type: a
 * typo in a path is a usage error, reported before any prompt is read.
 */
export async function resolveInput(input: string, cwd: string): Promise<ResolvedInput> {
  if (input === '-') return { kind: 'stdin' };
  const resolved = path.resolve(cwd, input);
  const display = toPosixPath(path.normalize(input));
  let stats;
  try {
    stats = await stat(resolved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      const reason = error instanceof Error ? error.message : String(error);
      throw new PromptError('PROMPT_FILE_INVALID', input, `cannot read (${reason}); check the path and its permissions`);
    }
  }

  if (stats === undefined) {
    if (!isGlobPattern(input)) throw new PromptError('PROMPT_FILE_INVALID', input, NOT_FOUND);
    const files: InputFile[] = [];
    for (const match of await expandGlob(input, cwd)) {
      const kind = promptFileKind(match.filePath);
      if (kind !== undefined) files.push({ filePath: match.filePath, display: match.display, kind, customId: idFor(match.filePath, cwd) });
    }
    if (files.length === 0) throw new PromptError('PROMPT_FILE_INVALID', input, NOT_FOUND);
    return { kind: 'files', files };
  }

  if (stats.isDirectory()) return { kind: 'folder', folderPath: resolved, display };
  // A pipe (`<(zcat big.jsonl.gz)`, /dev/stdin) has no useful extension and can only be JSONL.
  const kind = stats.isFIFO() ? 'jsonl' : promptFileKind(resolved);
  if (kind === undefined) {
    const extension = path.extname(resolved) || 'no extension';
    const hint = path.extname(resolved).toLowerCase() === '.json' ? ' (a JSON array? write one JSON object per line as .jsonl)' : '';
    throw new PromptError(
      'PROMPT_FILE_INVALID',
      input,
      `expected a ${PROMPT_FILE_EXTENSIONS.join(', ')} file or a folder, got a file with ${extension}${hint}`,
    );
  }
  return { kind: 'files', files: [{ filePath: resolved, display, kind, customId: idFor(resolved, cwd) }] };
}

// Relative to cwd as the user thinks of it; a file outside cwd keeps its absolute path rather
// than a `../../` chain that would change with the directory the job is run from.
function idFor(filePath: string, cwd: string): string {
  const relative = path.relative(cwd, filePath);
  return toPosixPath(relative.startsWith('..') || path.isAbsolute(relative) ? filePath : relative);
}
