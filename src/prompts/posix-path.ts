import path from 'node:path';

/** `/`-separated form of a native path: ids and sources look the same on every platform. */
export function toPosixPath(p: string): string {
  return path.sep === '/' ? p : p.split(path.sep).join('/');
}
