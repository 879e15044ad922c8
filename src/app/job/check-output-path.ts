import { accessSync, closeSync, constants, lstatSync, mkdirSync, openSync, readlinkSync, readSync, realpathSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { promptFileKind } from '../../prompts/prompt-file-kind.js';
import { resolveInput } from '../../prompts/resolve-input.js';
import { checkFifoReader, outputTargetOf } from '../../util/output-target.js';

/** What `checkOutputPath` compares the output with. */
export interface CheckOutputPathOptions {
  /** The output file (`--out`, or its default), absolute. */
  readonly out: string;
  /** The job database, absolute. */
  readonly db: string;
  /** The job's inputs: absolute paths, globs, or `-`. */
  readonly inputs: readonly string[];
  readonly cwd: string;
  /**
   * Whether an input that cannot be resolved is an error here. A resume does not read its inputs
   * (they may be gone), so it compares with those that still exist.
   * @default true
   */
  readonly inputsMustExist?: boolean;
  /** The flag that named `out`, for messages (`--metrics` checks its file the same way). @default '--out' */
  readonly flag?: string;
}

/**
 * Refuses, before the first request, an output that would destroy something or could not be
 * written at the end: an input file (or a prompt file inside an input folder, read back as
 * prompts on the next run), the job database or its -wal/-shm files, a folder, a socket, a block
 * device, a FIFO that nobody reads (writing would wait forever), or a path whose folder cannot be
 * created or written. A symbolic link is checked as the file it leads to; a character device or a
 * FIFO with a reader is streamed to (`outputTargetOf`), so its folder need not be writable.
 */
export async function checkOutputPath(options: CheckOutputPathOptions): Promise<void> {
  const out = path.resolve(options.cwd, options.out);
  const real = realPath(out);
  const flag = options.flag ?? '--out';
  const shown = `${flag} ${out}`;
  const stats = statOrUndefined(out);
  if (stats?.isDirectory() === true) {
    throw new UsageError(`${shown} is a folder; expected the path of the output file, e.g. ${flag} ${path.join(out, 'output.jsonl')}`);
  }
  for (const suffix of ['', '-wal', '-shm']) {
    if (real === realPath(`${options.db}${suffix}`)) {
      throw new UsageError(`${shown} is the job database${suffix === '' ? '' : `'s ${suffix} file`} (${options.db}${suffix}); writing the output there would destroy the job: pass another ${flag}`);
    }
  }
  // Another job's database (or any SQLite file): the output would replace it without a trace.
  const database = sqliteFileBehind(out);
  if (database !== undefined) {
    throw new UsageError(`${shown} is ${database === out ? 'a SQLite database' : `a file of the SQLite database ${database}`} (another job's, perhaps); writing the output there would destroy it: pass another ${flag}`);
  }
  refuseOtherJobsOutput(out, options.db, shown, flag);
  for (const input of options.inputs) {
    if (input === '-') continue;
    let resolved;
    try {
      resolved = await resolveInput(input, options.cwd);
    } catch (error) {
      if (options.inputsMustExist === false) continue;
      throw error;
    }
    if (resolved.kind === 'folder') {
      const folder = realPath(resolved.folderPath);
      if (promptFileKind(out) !== undefined && real.startsWith(`${folder}${path.sep}`)) {
        throw new UsageError(`${shown} is inside the input folder ${resolved.folderPath}, where the next run would read it back as prompts; pass ${flag} outside it`);
      }
    } else if (resolved.kind === 'files') {
      for (const file of resolved.files) {
        if (realPath(file.filePath) === real) {
          throw new UsageError(`${shown} is an input file (${input}); writing the output there would replace the prompts: pass another ${flag}`);
        }
      }
    }
  }
  const target = outputTargetOf(out, flag);
  checkFifoReader(target, flag);
  if (target.mode === 'replace') checkFolderWritable(target.file, shown, flag);
}

/** The folder of `out` must be writable, or creatable in its nearest existing ancestor. */
function checkFolderWritable(out: string, shown: string, flag: string): void {
  let folder = path.dirname(out);
  while (statOrUndefined(folder) === undefined && path.dirname(folder) !== folder) {
    // A link to nowhere looks absent to stat, but nothing can be created through it.
    if (lstatOrUndefined(folder)?.isSymbolicLink() === true) {
      throw new UsageError(`${shown}: ${folder} is a symbolic link to ${readlinkSync(folder)}, which does not exist; create that folder or pass another ${flag}`);
    }
    folder = path.dirname(folder);
  }
  const stats = statOrUndefined(folder);
  if (stats !== undefined && !stats.isDirectory()) {
    throw new UsageError(`${shown}: ${folder} is a file, not a folder, so the output cannot be written under it; pass another ${flag}`);
  }
  const exists = folder === path.dirname(out);
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch {
    throw new UsageError(`${shown}: ${exists ? 'its folder' : 'the folder it would be created in,'} ${folder} is not writable; pass ${flag} in a folder you can write to`);
  }
  if (!exists) checkFolderCreatable(out, folder, shown, flag);
}

/**
 * Makes the first missing folder on the way to `out` and removes it again: some places refuse
 * new folders although they look writable (/proc), and are found out here, not after sending.
 */
function checkFolderCreatable(out: string, existing: string, shown: string, flag: string): void {
  let first = path.dirname(out);
  while (path.dirname(first) !== existing) first = path.dirname(first);
  try {
    mkdirSync(first, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${shown}: the folder ${first} cannot be created in ${existing} (${code ?? (error as Error).message}); pass ${flag} in a folder that exists or can be created`, error);
  }
  rmdirSync(first);
}

function lstatOrUndefined(file: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0');

/** The SQLite database `file` is, or whose -wal/-shm/-journal file it is; undefined otherwise. */
function sqliteFileBehind(file: string): string | undefined {
  const companion = /^(.*)-(wal|shm|journal)$/.exec(file);
  for (const candidate of companion === null ? [file] : [file, companion[1]!]) {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    let fd: number | undefined;
    // Only a regular file is opened: opening a FIFO to read waits for a writer, deaf to Ctrl-C.
    if (statOrUndefined(candidate)?.isFile() !== true) continue;
    try {
      fd = openSync(candidate, 'r');
      if (readSync(fd, header, 0, header.length, 0) === header.length && header.equals(SQLITE_HEADER)) return candidate;
    } catch {
      // Not there, or not readable: not a database in the way.
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return undefined;
}

function statOrUndefined(file: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** The path with symbolic links resolved, as far as it exists (so a link to an input is caught). */
function realPath(file: string): string {
  try {
    return realpathSync.native(file);
  } catch {
    const parent = path.dirname(file);
    return parent === file ? file : path.join(realPath(parent), path.basename(file));
  }
}

/**
 * Another job's own output file (`NAME.output.jsonl` beside `NAME.sqlite`, as the batch home keeps
 * them): written over, that job's output would be lost until `batch export NAME` writes it again.
 */
function refuseOtherJobsOutput(out: string, db: string, shown: string, flag: string): void {
  const match = /^(.+)\.output\.jsonl$/.exec(path.basename(out));
  if (match === null) return;
  const owner = path.join(path.dirname(out), `${match[1]}.sqlite`);
  if (realPath(owner) === realPath(db) || statOrUndefined(owner)?.isFile() !== true) return;
  throw new UsageError(`${shown} is the output of job "${match[1]}" (beside its database ${owner}); writing there would replace that job's answers: pass another ${flag}`);
}
