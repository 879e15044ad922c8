import { existsSync, rmdirSync } from 'node:fs';
import path from 'node:path';

/**
 * The folders above `file` that do not exist yet, innermost first: what creating the file's
 * folder (mkdir -p) would create, so that a refused run can remove exactly those again.
 */
export function missingFolders(file: string): string[] {
  const missing: string[] = [];
  for (let dir = path.dirname(path.resolve(file)); !existsSync(dir); dir = path.dirname(dir)) {
    missing.push(dir);
    if (path.dirname(dir) === dir) break;
  }
  return missing;
}

/**
 * Removes `folders` (innermost first, as `missingFolders` lists them) while they are empty: one
 * that holds anything now, another job's files among them, is left with every folder above it.
 */
export function removeEmptyFolders(folders: readonly string[]): void {
  for (const dir of folders) {
    try {
      rmdirSync(dir);
    } catch {
      return;
    }
  }
}
