import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { toPosixPath } from './posix-path.js';

/** A file a glob matched. */
export interface GlobMatch {
  readonly filePath: string;
  /** Relative to cwd for a relative pattern, absolute for an absolute one; `/`-separated. */
  readonly display: string;
}

/** Whether an input is meant as a glob pattern (`*`, `?` or `**`). */
export function isGlobPattern(input: string): boolean {
  return /[*?]/.test(input);
}

/**
 * Expands a glob to the files it matches, sorted by path. `*` and `?` match within one path
 * segment, `**` matches any number of folders. Like shells, wildcards do not match names starting
 * with a dot unless the pattern segment does; `**` also skips node_modules and does not follow
 * symbolic links to folders (which could loop).
 */
export async function expandGlob(pattern: string, cwd: string): Promise<GlobMatch[]> {
  const absolute = path.isAbsolute(pattern);
  const segments = toPosixPath(pattern).split('/').filter((s, i) => s !== '' && !(s === '.' && i > 0));
  const literal: string[] = [];
  while (segments.length > 0 && !isGlobPattern(segments[0]!)) literal.push(segments.shift()!);
  const baseDir = absolute ? path.resolve('/', ...literal) : path.resolve(cwd, ...literal);
  const baseDisplay = absolute ? toPosixPath(baseDir) : literal.join('/');

  const found = new Map<string, GlobMatch>();
  await match(baseDir, baseDisplay, segments, found);
  return [...found.values()].sort((a, b) => (a.display < b.display ? -1 : a.display > b.display ? 1 : 0));
}

async function match(dir: string, display: string, segments: readonly string[], found: Map<string, GlobMatch>): Promise<void> {
  const [segment, ...rest] = segments;
  if (segment === undefined) return;
  const entries = await listDir(dir);
  const join = (name: string): string => (display === '' ? name : display === '/' ? `/${name}` : `${display}/${name}`);

  if (segment === '**') {
    // Zero folders: the rest of the pattern applies here. `**` last matches every file below.
    if (rest.length > 0) await match(dir, display, rest, found);
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const filePath = path.join(dir, entry.name);
      if (entry.isDirectory()) await match(filePath, join(entry.name), segments, found);
      else if (rest.length === 0 && (await isFile(entry, filePath))) found.set(filePath, { filePath, display: join(entry.name) });
    }
    return;
  }

  const regex = segmentRegex(segment);
  for (const entry of entries) {
    if (entry.name.startsWith('.') && !segment.startsWith('.')) continue;
    if (!regex.test(entry.name)) continue;
    const filePath = path.join(dir, entry.name);
    if (rest.length === 0) {
      if (await isFile(entry, filePath)) found.set(filePath, { filePath, display: join(entry.name) });
    } else if (await isDirectory(entry, filePath)) {
      await match(filePath, join(entry.name), rest, found);
    }
  }
}

async function listDir(dir: string): Promise<Dirent[]> {
  // A folder that is missing or unreadable simply matches nothing, as in a shell.
  return readdir(dir, { withFileTypes: true }).catch(() => []);
}

async function isFile(entry: Dirent, filePath: string): Promise<boolean> {
  if (!entry.isSymbolicLink()) return entry.isFile();
  return (await stat(filePath).catch(() => undefined))?.isFile() ?? false;
}

async function isDirectory(entry: Dirent, filePath: string): Promise<boolean> {
  if (!entry.isSymbolicLink()) return entry.isDirectory();
  return (await stat(filePath).catch(() => undefined))?.isDirectory() ?? false;
}

function segmentRegex(segment: string): RegExp {
  let source = '';
  for (const char of segment) {
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'u');
}
