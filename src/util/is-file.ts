import { statSync } from 'node:fs';

/** Whether `path` is a regular file (links followed); false when it is anything else or absent. */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
