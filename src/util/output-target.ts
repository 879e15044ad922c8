import { closeSync, constants, lstatSync, openSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/**
 * How a file that `batch` writes (an output, a metrics file, a report) is written, decided by
 * what is at its path when it is written:
 * - nothing, or a regular file: written beside it (`<file>.tmp`) and renamed over it, so a reader
 *   sees the old file or the whole new one;
 * - a symbolic link: followed: the file it leads to is written that way, the link stays a link;
 * - a character device (`/dev/null`, a terminal) or a FIFO, and the streams of the process
 *   (`/dev/stdout`, `/dev/fd/N`, whatever they are): written in place, as a stream, never renamed
 *   over (which would replace the device); a FIFO only while it has a reader;
 * - a folder, a socket or a block device (a disk): refused.
 */
export type OutputTarget =
  | {
      readonly mode: 'replace';
      /** The file to write beside and rename over: the path, or the file its link leads to. */
      readonly file: string;
    }
  | {
      readonly mode: 'stream';
      /** The path as given (opened through its links). */
      readonly file: string;
      /** For messages: `character device`, `FIFO`, or `stream of this process`. */
      readonly kind: string;
      readonly fifo: boolean;
    };

/** Hops of symbolic links followed before a path counts as a loop (as Linux's own limit). */
const maxLinks = 40;

/**
 * What is at `file` (absolute, or resolved against the current folder) and how it is written.
 * Throws USAGE, naming `flag`, the path and what it is, for a folder, a socket, a block device
 * or a loop of links.
 */
export function outputTargetOf(file: string, flag: string): OutputTarget {
  const absolute = path.resolve(file);
  const chain = linkChain(absolute, flag);
  const end = chain[chain.length - 1]!;
  let stats;
  try {
    stats = statSync(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw refused(flag, absolute, 'a loop of symbolic links');
    // Not there yet (or a link to nothing yet): created where the links lead.
    return { mode: 'replace', file: end };
  }
  // `/dev/stdout` and the like name a stream of this process: whatever it is, it is written in
  // place (appended to, for a file the shell opened), never renamed over.
  if (chain.some((hop) => isProcessStream(hop))) return { mode: 'stream', file: absolute, kind: 'stream of this process', fifo: stats.isFIFO() };
  if (stats.isFile()) return { mode: 'replace', file: realpathSync.native(absolute) };
  if (stats.isCharacterDevice()) return { mode: 'stream', file: absolute, kind: 'character device', fifo: false };
  if (stats.isFIFO()) return { mode: 'stream', file: absolute, kind: 'FIFO', fifo: true };
  const kind = stats.isDirectory() ? 'a folder' : stats.isSocket() ? 'a socket' : stats.isBlockDevice() ? 'a block device (a disk)' : 'neither a file nor a device';
  throw refused(flag, absolute, kind);
}

/**
 * Per FIFO, a writer held open from `checkFifoReader` until the FIFO is opened to be written (or
 * `releaseFifoChecks`): a reader that saw every writer go would take it as the end and leave.
 */
const heldWriters = new Map<string, number>();

/**
 * Opens a stream target for appending. A FIFO is first opened without blocking: with no reader
 * that fails at once (ENXIO), where a plain open would wait for one forever, deaf to Ctrl-C; the
 * reader, connected by it, stays connected until the real open. Throws USAGE for a FIFO with no
 * reader; other failures as they are.
 */
export function openStreamTarget(target: Extract<OutputTarget, { mode: 'stream' }>, flag: string): number {
  if (!target.fifo) return openSync(target.file, constants.O_WRONLY | constants.O_APPEND);
  const probe = openFifoWithoutWaiting(target.file, flag);
  try {
    return openSync(target.file, constants.O_WRONLY | constants.O_APPEND);
  } finally {
    closeSync(probe);
    release(target.file);
  }
}

/**
 * Throws USAGE when `target` is a FIFO that nobody reads: writing to it would wait forever. A
 * FIFO with a reader is held open for writing until it is opened to be written, or until
 * `releaseFifoChecks`: the reader must not see an end before the first line.
 */
export function checkFifoReader(target: OutputTarget, flag: string): void {
  if (target.mode !== 'stream' || !target.fifo || heldWriters.has(target.file)) return;
  heldWriters.set(target.file, openFifoWithoutWaiting(target.file, flag));
}

/** Closes the writers `checkFifoReader` held open (a run's output is written, by another thread). */
export function releaseFifoChecks(): void {
  for (const file of [...heldWriters.keys()]) release(file);
}

function release(file: string): void {
  const fd = heldWriters.get(file);
  if (fd === undefined) return;
  heldWriters.delete(file);
  closeSync(fd);
}

function openFifoWithoutWaiting(file: string, flag: string): number {
  try {
    return openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
    throw new UsageError(
      `${flag} ${file} is a FIFO (named pipe) that nobody reads: writing to it would wait for a reader forever; start the reader first (e.g. \`cat ${file} > copy.jsonl &\`), or pass another ${flag}`,
      error,
    );
  }
}

/** The path, then each path its links lead to in turn: the last is what it names in the end. */
function linkChain(file: string, flag: string): string[] {
  const chain = [file];
  let current = file;
  for (let hops = 0; ; hops++) {
    let stats;
    try {
      stats = lstatSync(current);
    } catch {
      // A missing last part: the chain ends here (a missing folder above it: as the path is).
      return chain;
    }
    if (!stats.isSymbolicLink()) return chain;
    if (hops === maxLinks) throw refused(flag, file, 'a loop of symbolic links');
    // Folders above the link may be links themselves: resolve them, not the link itself.
    current = path.resolve(realDirname(current), readlinkSync(current));
    chain.push(current);
  }
}

function realDirname(file: string): string {
  try {
    return realpathSync.native(path.dirname(file));
  } catch {
    return path.dirname(file);
  }
}

/** `/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`, `/proc/<pid>/fd/1`: a descriptor of a process. */
function isProcessStream(file: string): boolean {
  return /^\/dev\/(std(in|out|err)|fd\/\d+)$/.test(file) || /^\/proc\/(self|thread-self|\d+)\/fd\/\d+$/.test(file);
}

function refused(flag: string, file: string, kind: string): UsageError {
  return new UsageError(
    `${flag} ${file} is ${kind}, not a file: batch writes a file there (a symbolic link is followed), or streams to a character device such as /dev/null or a FIFO with a reader; pass the path of a file to ${flag}`,
  );
}
