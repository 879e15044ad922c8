import path from 'node:path';
import { UsageError } from '../../errors.js';
import { parsePriorityText } from '../../prompts/prompt-priority.js';
import type { JobTemplate } from './job-template.js';

/** One `--priority FILE=N`: the input (absolute, `-` for stdin) and its prompts' default priority. */
export interface FilePriority {
  readonly input: string;
  readonly priority: number;
}

/**
 * Reads `--priority FILE=N` (split at the last `=`, so a path may hold one). FILE is made absolute
 * against `cwd` (`-` stays stdin); N must be a finite number. Throws UsageError (exit 2) otherwise.
 */
export function parseFilePriority(text: string, cwd: string): FilePriority {
  const at = text.lastIndexOf('=');
  const file = at === -1 ? '' : text.slice(0, at);
  const value = at === -1 ? undefined : parsePriorityText(text.slice(at + 1));
  if (file === '' || value === undefined) {
    throw new UsageError(`--priority ${text}: expected FILE=N, an input (or --data file) and the priority of its prompts that set none (a number, higher first), e.g. --priority urgent.jsonl=10`);
  }
  return { input: file === '-' ? file : path.resolve(cwd, file), priority: value };
}

/** `--priority` values made absolute, as the job remembers them (`/abs/file=N`). */
export function absoluteFilePriorities(list: readonly string[] | undefined, cwd: string): string[] | undefined {
  return list?.map((text) => {
    const { input, priority } = parseFilePriority(text, cwd);
    return `${input}=${priority}`;
  });
}

/**
 * The default priority of each input and --data file the `--priority` values name, keyed by absolute
 * path. Refuses (exit 2, before anything is sent) a FILE that is not one of the run's inputs or
 * --data files as given, and a FILE given twice with different priorities.
 */
export function filePriorityMap(list: readonly string[] | undefined, inputs: readonly string[], template: JobTemplate | undefined): ReadonlyMap<string, number> {
  const map = new Map<string, number>();
  const known = new Set([...inputs, ...(template?.data.map((file) => file.path) ?? [])]);
  for (const text of list ?? []) {
    const { input, priority } = parseFilePriority(text, '/');
    if (!known.has(input)) {
      const names = [...known].join(', ');
      throw new UsageError(`--priority ${text}: ${input} is not an input or --data file of this run (${names === '' ? 'none' : names}); name one of them as given`);
    }
    const earlier = map.get(input);
    if (earlier !== undefined && earlier !== priority) throw new UsageError(`--priority: ${input} is given twice (=${earlier} and =${priority}); give it once`);
    map.set(input, priority);
  }
  return map;
}
