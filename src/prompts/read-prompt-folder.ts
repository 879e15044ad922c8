import type { Dir } from 'node:fs';
import { opendir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { PromptError } from '../errors.js';
import { toPosixPath } from './posix-path.js';
import type { PromptDraft } from './prompt-draft.js';
import { promptFileKind, type PromptFileKind } from './prompt-file-kind.js';
import { readFileChunks } from './read-file-chunks.js';
import { readJsonl } from './read-jsonl.js';
import { readPromptFile } from './read-prompt-file.js';

/** A prompt file found in a folder. */
export interface FolderEntry {
  readonly filePath: string;
  /** Path relative to the folder, `/`-separated. */
  readonly relativePath: string;
  readonly kind: PromptFileKind;
}

/** How a folder input is shown to the user. */
export interface ReadPromptFolderOptions {
  /** The folder as the user typed it; sources are `<display>/<relative path>`. */
  readonly display: string;
}

/**
 * Reads every prompt file under a folder, recursively, in name order: each .txt/.md file is one
 * prompt (custom_id = its path relative to the folder), each .jsonl file one prompt per line.
 */
export async function* readPromptFolder(folderPath: string, options: ReadPromptFolderOptions): AsyncGenerator<PromptDraft> {
  for await (const entry of walkPromptFolder(folderPath, options.display)) {
    const source = toPosixPath(path.join(options.display, entry.relativePath));
    if (entry.kind === 'prompt') {
      yield await readPromptFile(entry.filePath, { source, customId: entry.relativePath });
    } else {
      yield* readJsonl(readFileChunks(entry.filePath, source), { location: source, idPrefix: entry.relativePath });
    }
  }
}

/**
 * Lists prompt files lazily and deterministically: entries sorted by name (code points, not
 * locale, so every machine agrees), dot-files, dot-folders and node_modules skipped. Symbolic
 * links are followed; a link back to a folder already being read is skipped to avoid a loop.
 */
export async function* walkPromptFolder(folderPath: string, display: string = folderPath): AsyncGenerator<FolderEntry> {
  yield* walk(folderPath, '', new Set([await realpath(folderPath)]), display);
}

async function* walk(dir: string, relativeDir: string, ancestors: Set<string>, display: string): AsyncGenerator<FolderEntry> {
  const names: { name: string; isDirectory: boolean; isFile: boolean }[] = [];
  let handle: Dir;
  try {
    handle = await opendir(dir);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const location = toPosixPath(path.join(display, relativeDir));
    throw new PromptError('PROMPT_FILE_INVALID', location, `cannot read the folder (${reason}); check its permissions`);
  }
  for await (const dirent of handle) {
    if (dirent.name.startsWith('.') || dirent.name === 'node_modules') continue;
    let isDirectory = dirent.isDirectory();
    let isFile = dirent.isFile();
    if (dirent.isSymbolicLink()) {
      const target = await stat(path.join(dir, dirent.name)).catch(() => undefined);
      isDirectory = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    names.push({ name: dirent.name, isDirectory, isFile });
  }
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  for (const { name, isDirectory, isFile } of names) {
    const filePath = path.join(dir, name);
    const relativePath = relativeDir === '' ? name : `${relativeDir}/${name}`;
    if (isDirectory) {
      const real = await realpath(filePath);
      if (ancestors.has(real)) continue;
      ancestors.add(real);
      yield* walk(filePath, relativePath, ancestors, display);
      ancestors.delete(real);
    } else if (isFile) {
      const kind = promptFileKind(name);
      if (kind !== undefined) yield { filePath, relativePath, kind };
    }
  }
}
