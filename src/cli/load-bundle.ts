import { createRequire } from 'node:module';

// Node's built-ins through `require`, not `import`: an ES module import of a built-in builds its
// facade of every export (node:fs's loads fs/promises), ~9 ms of a run's start with its heap flags.
const requireBuiltin = createRequire(import.meta.url);
const { isAscii } = requireBuiltin('node:buffer') as typeof import('node:buffer');
const { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = requireBuiltin('node:fs') as typeof import('node:fs');
const Module = requireBuiltin('node:module') as typeof import('node:module');
const os = requireBuiltin('node:os') as typeof import('node:os');
const path = requireBuiltin('node:path') as typeof import('node:path');
const { fileURLToPath } = requireBuiltin('node:url') as typeof import('node:url');
const vm = requireBuiltin('node:vm') as typeof import('node:vm');

/** src/util/make-folder.ts's `makeFolder`, as the bundles export it (src/cli/bundle-entry.ts). */
type FolderMaker = (folder: string, mode?: number) => void;

/** What the bundle exports: the CLI's entry (src/cli/main.ts, through src/cli/bundle-entry.ts). */
export interface BundledCli {
  main(argv?: readonly string[]): Promise<void>;
}

export interface LoadBundleOptions {
  /** The bundle, CommonJS (scripts/build-bundle.mjs). @default dist/bundle/batch.js */
  readonly bundle?: string;
  /** Read for BATCH_CODE_CACHE_DIR, XDG_CACHE_HOME and HOME. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A cache file starts with this, then the bytecode size (uint32) of the process that wrote it. */
const magic = 0x31434342; // "BCC1"
const headerBytes = 8;
/** A process that compiled this much more than the one that wrote the cache writes it again. */
const growthToRewrite = 1.5;

/**
 * Where the code cache lives: `$BATCH_CODE_CACHE_DIR` (empty: no cache), else
 * `$XDG_CACHE_HOME/batch/code-cache`, else `~/.cache/batch/code-cache`. A folder of the user's
 * own, never a shared one such as /tmp: a cache file is code that this process runs.
 */
export function codeCacheDir(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const given = env['BATCH_CODE_CACHE_DIR'];
  if (given !== undefined) return given === '' ? undefined : given;
  const cacheHome = env['XDG_CACHE_HOME'] || path.join(env['HOME'] || os.homedir(), '.cache');
  return path.join(cacheHome, 'batch', 'code-cache');
}

/** FNV-1a, 32 bits: a short stable name for a key (no crypto: loading it costs start-up). */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

interface CacheFile {
  readonly dir: string;
  /** One bundle run with one set of node flags: its older caches are removed when a new one is written. */
  readonly prefix: string;
  readonly path: string;
}

/**
 * The cache file of this bundle, this node and these V8 flags. V8 refuses a cache made by another
 * V8 version, with other flags or for a source of another length; the bundle's size and time
 * in the name also tell apart two builds of the same length.
 */
function cacheFileOf(bundle: string, env: Readonly<Record<string, string | undefined>>): CacheFile | undefined {
  const dir = codeCacheDir(env);
  if (dir === undefined) return undefined;
  const { size, mtimeMs } = statSync(bundle);
  // NODE_OPTIONS too: flags given there are not in execArgv, and V8 refuses a cache made with other flags.
  const prefix = shortHash(`${bundle}\0${process.execArgv.join(' ')}\0${process.env['NODE_OPTIONS'] ?? ''}`);
  return { dir, prefix, path: path.join(dir, `${prefix}-${shortHash(`${process.version}\0${process.arch}\0${size}\0${mtimeMs}`)}.bin`) };
}

function readCache(file: string): { readonly data: Buffer; readonly bytecode: number } | undefined {
  try {
    const bytes = readFileSync(file);
    if (bytes.length <= headerBytes || bytes.readUInt32LE(0) !== magic) return undefined;
    return { data: bytes.subarray(headerBytes), bytecode: bytes.readUInt32LE(4) };
  } catch {
    return undefined;
  }
}

/**
 * At exit, once the run has compiled what it runs: writes the cache when there was none, V8
 * refused it, or this process compiled much more than the one that wrote it (a `batch run --help`
 * wrote it first). A cache that cannot be written only costs the next start its time, so a
 * failure is ignored.
 */
function writeCacheAtExit(script: import('node:vm').Script, file: CacheFile, stored: { readonly bytecode: number } | undefined, makeFolder: FolderMaker): void {
  process.once('exit', () => {
    try {
      const bytecode = (requireBuiltin('node:v8') as typeof import('node:v8')).getHeapCodeStatistics().bytecode_and_metadata_size;
      if (stored !== undefined && !script.cachedDataRejected && bytecode < stored.bytecode * growthToRewrite) return;
      const header = Buffer.alloc(headerBytes);
      header.writeUInt32LE(magic, 0);
      header.writeUInt32LE(Math.min(bytecode, 0xffffffff), 4);
      // Not mkdirSync's recursive mode: it spins forever where the kernel refuses a folder whose
      // parent exists (BATCH_CODE_CACHE_DIR under /proc); makeFolder throws there.
      makeFolder(file.dir, 0o700);
      const partial = `${file.path}.${process.pid}.partial`;
      writeFileSync(partial, Buffer.concat([header, script.createCachedData()]), { mode: 0o600 });
      renameSync(partial, file.path);
      for (const name of readdirSync(file.dir)) {
        if (name.startsWith(`${file.prefix}-`) && name.endsWith('.bin') && path.join(file.dir, name) !== file.path) rmSync(path.join(file.dir, name), { force: true });
      }
    } catch {
      // See above: the next start compiles without a cache, as a start without one does.
    }
  });
}

/**
 * The CLI from its bundle (or another bundle of scripts/build-bundle.mjs: commander's), compiled
 * with a V8 code cache: `batch run`'s start without compiling the bundle and the functions a run
 * calls (BENCHMARKS.md, "Start-up"). The bundle runs as CommonJS in this context, as `require`
 * would run it; its dynamic `import()`s load as this process's own.
 */
export function loadBundle<Exports = BundledCli>(options: LoadBundleOptions = {}): Exports {
  const bundle = options.bundle ?? fileURLToPath(new URL('../bundle/batch.js', import.meta.url));
  // The bundle is ASCII (scripts/build-bundle.mjs): read as one-byte text, ~3 ms sooner than UTF-8.
  const bytes = readFileSync(bundle);
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const file = cacheFileOf(bundle, options.env ?? process.env);
  const stored = file === undefined ? undefined : readCache(file.path);
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData: stored?.data, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  const module = { exports: {} as Exports };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle));
  // Every bundle of scripts/build-bundle.mjs exports util/make-folder.ts's makeFolder: without it
  // (a bundle from elsewhere) no cache is written.
  const { makeFolder } = module.exports as { readonly makeFolder?: FolderMaker };
  if (file !== undefined && typeof makeFolder === 'function') writeCacheAtExit(script, file, stored, makeFolder);
  return module.exports;
}
