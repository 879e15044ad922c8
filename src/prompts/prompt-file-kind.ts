import path from 'node:path';

/** How a file is read: one prompt per file, or one prompt per JSONL line. */
export type PromptFileKind = 'prompt' | 'jsonl';

const KINDS: Readonly<Record<string, PromptFileKind>> = {
  '.txt': 'prompt',
  '.md': 'prompt',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json-lines': 'jsonl',
};

/** The extensions `batch` reads, for messages. */
export const PROMPT_FILE_EXTENSIONS = Object.keys(KINDS);

/** The kind of a file by its extension (case-insensitive), or undefined for files that are not prompts. */
export function promptFileKind(fileName: string): PromptFileKind | undefined {
  return KINDS[path.extname(fileName).toLowerCase()];
}
