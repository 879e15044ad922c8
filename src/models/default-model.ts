import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { checkWholeNumber } from '../util/check-option.js';
import { readGgufInfo } from './gguf-reader.js';
import { writeTinyLlamaGguf } from './gguf-writer.js';
import { makeFolder } from '../util/make-folder.js';

/**
 * The real model used when none is given: Qwen2.5 0.5B Instruct, Q4_K_M (~400 MB), small enough
 * for a laptop CPU and good enough to give real answers.
 */
export const DEFAULT_MODEL_URI = 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf';
/** File name of the real default model in the cache directory. */
export const DEFAULT_MODEL_FILE = 'qwen2.5-0.5b-instruct-q4_k_m.gguf';
/** File name of the generated demo model in the cache directory. */
export const DEMO_MODEL_FILE = 'batch-demo-tiny-llama-v2.gguf';

export const DEMO_MODEL_NOTICE =
  'no model given and none could be downloaded: using a tiny generated demo model whose output is random text; pass --model path/to/model.gguf (or --server URL) for real answers';

export interface ResolveDefaultModelOptions {
  /** Where models are cached. @default env.BATCH_MODELS_DIR, else ~/.cache/batch/models */
  readonly cacheDir?: string;
  /** Environment read for BATCH_MODELS_DIR, BATCH_OFFLINE and CI. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Never download. @default true when env.BATCH_OFFLINE=1 or env.CI is set, else false */
  readonly offline?: boolean;
  /**
   * Abort the download when no bytes arrive for this long (also bounds reaching the server).
   * @default 15000
   */
  readonly stallTimeoutMs?: number;
  /**
   * Hugging Face endpoint (or mirror) the default model is fetched from.
   * @default env.HF_ENDPOINT, else 'https://huggingface.co/'
   */
  readonly huggingFaceEndpoint?: string;
  /** Receives progress lines ("downloading … 40%"). @default no output */
  readonly log?: (line: string) => void;
}

export interface DefaultModel {
  readonly path: string;
  /** True for the generated tiny model, whose output is random text. */
  readonly isDemo: boolean;
  /** What to tell the user about the choice, when there is something to tell. */
  readonly notice?: string;
}

/**
 * Finds a model for runs that name none: the cached real default model, else a fresh download of
 * it (unless offline), else a tiny generated demo model (created once in the cache directory).
 */
export async function resolveDefaultModel(options: ResolveDefaultModelOptions): Promise<DefaultModel> {
  const cacheDir = options.cacheDir ?? defaultCacheDir(options.env);
  const offline = options.offline ?? isOffline(options.env);
  const stallTimeoutMs = checkWholeNumber('stallTimeoutMs', options.stallTimeoutMs ?? 15_000, 1);
  makeFolder(cacheDir);

  const realPath = join(cacheDir, DEFAULT_MODEL_FILE);
  if (await isReadableGguf(realPath)) return { path: realPath, isDemo: false };

  // A machine that could not download a moment ago most likely still cannot: remember the
  // failure for a day instead of making every run wait for the download to stall.
  const failedMarker = join(cacheDir, DOWNLOAD_FAILED_MARKER);
  const failedAt = await readFailedAt(failedMarker);
  const recentlyFailed = failedAt !== undefined && Date.now() - failedAt < RETRY_DOWNLOAD_AFTER_MS;
  if (recentlyFailed && !offline) {
    options.log?.(`not retrying the download of ${DEFAULT_MODEL_FILE}: it failed at ${new Date(failedAt).toISOString()}; delete ${failedMarker} to try again now`);
  }
  if (!offline && !recentlyFailed) {
    const endpoint = options.huggingFaceEndpoint ?? options.env['HF_ENDPOINT'];
    const downloaded = await tryDownload(cacheDir, stallTimeoutMs, endpoint, options.log);
    if (downloaded !== undefined && (await isReadableGguf(downloaded))) {
      await rm(failedMarker, { force: true });
      return { path: downloaded, isDemo: false, notice: `no model given: using ${DEFAULT_MODEL_FILE} (downloaded to ${cacheDir})` };
    }
    await writeFile(failedMarker, `${new Date().toISOString()}\n`);
  }
  return { path: await ensureDemoModel(cacheDir), isDemo: true, notice: DEMO_MODEL_NOTICE };
}

/** Written in the cache directory when the default model's download failed. */
export const DOWNLOAD_FAILED_MARKER = 'download-failed';
const RETRY_DOWNLOAD_AFTER_MS = 24 * 60 * 60 * 1000;

async function readFailedAt(marker: string): Promise<number | undefined> {
  try {
    const at = Date.parse((await readFile(marker, 'utf8')).trim());
    return Number.isNaN(at) ? undefined : at;
  } catch {
    return undefined;
  }
}

/** env.BATCH_MODELS_DIR, else ~/.cache/batch/models (outside any project, shared by all jobs). */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = env['BATCH_MODELS_DIR'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(os.homedir(), '.cache', 'batch', 'models');
}

export function isOffline(env: Readonly<Record<string, string | undefined>>): boolean {
  const ci = env['CI'];
  return env['BATCH_OFFLINE'] === '1' || (ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0');
}

async function isReadableGguf(path: string): Promise<boolean> {
  try {
    await stat(path);
    await readGgufInfo(path);
    return true;
  } catch {
    return false;
  }
}

/** One download attempt; any failure (offline, DNS, HTTP, stall) returns undefined. */
async function tryDownload(
  cacheDir: string,
  stallTimeoutMs: number,
  endpoint: string | undefined,
  log: ((line: string) => void) | undefined,
): Promise<string | undefined> {
  const base = endpoint === undefined || endpoint === '' ? DEFAULT_ENDPOINT : endpoint;
  const unreachable = await connectionFailure(base, stallTimeoutMs);
  if (unreachable !== undefined) {
    log?.(`could not download ${DEFAULT_MODEL_URI}: cannot reach ${base} (${unreachable})`);
    return undefined;
  }
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), stallTimeoutMs);
  let lastPercent = -1;
  try {
    // Imported only here: node-llama-cpp costs ~0.8 s to load.
    const { resolveModelFile } = await import('node-llama-cpp');
    // Raced against the abort too: not every phase of resolving a URI watches the signal.
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(new Error(`no progress for ${stallTimeoutMs} ms`)), { once: true });
    });
    const download = resolveModelFile(DEFAULT_MODEL_URI, {
      directory: cacheDir,
      fileName: DEFAULT_MODEL_FILE,
      cli: false,
      ...(endpoint === undefined || endpoint === '' ? {} : { endpoints: { huggingFace: endpoint } }),
      signal: controller.signal,
      deleteTempFileOnCancel: true,
      onProgress: ({ totalSize, downloadedSize }) => {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(), stallTimeoutMs);
        const percent = totalSize > 0 ? Math.floor((downloadedSize / totalSize) * 10) * 10 : 0;
        if (log !== undefined && percent !== lastPercent) {
          lastPercent = percent;
          log(`downloading ${DEFAULT_MODEL_FILE}: ${percent}% of ${(totalSize / 1e6).toFixed(0)} MB`);
        }
      },
    });
    download.catch(() => undefined);
    return await Promise.race([download, aborted]);
  } catch (error) {
    // The stall timer aborted it: say so, whichever of the two rejections arrived first.
    const reason = controller.signal.aborted ? `no progress for ${stallTimeoutMs} ms` : error instanceof Error ? error.message : String(error);
    log?.(`could not download ${DEFAULT_MODEL_URI}: ${reason}`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

const DEFAULT_ENDPOINT = 'https://huggingface.co/';

/** Connection failures that say at once that nothing will be downloaded: no need to wait for a stall. */
const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

/**
 * Opens (and closes) one TCP connection to the endpoint: a refused connection or an unknown host
 * is known in milliseconds, while the downloader would retry it until the stall timeout (15 s by
 * default) before the demo model is used. Resolves with the error code when the endpoint cannot
 * be reached, undefined when it can (or when the URL is one the downloader must judge).
 */
function connectionFailure(endpoint: string, timeoutMs: number): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return Promise.resolve(undefined);
  }
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'http:' ? 80 : 443;
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port });
    const finish = (failure: string | undefined): void => {
      socket.destroy();
      resolve(failure);
    };
    socket.setTimeout(timeoutMs, () => finish(`no connection within ${timeoutMs} ms`));
    socket.once('connect', () => finish(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => finish(unreachableCodes.has(error.code ?? '') ? error.code : undefined));
  });
}

/** Writes the demo model once; a temporary name and a rename keep concurrent runs from reading half a file. */
async function ensureDemoModel(cacheDir: string): Promise<string> {
  const path = join(cacheDir, DEMO_MODEL_FILE);
  if (await isReadableGguf(path)) return path;
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    // A trained context above the default context per slot, so managed servers get the --ctx they ask for.
    await writeTinyLlamaGguf(temporary, { embeddingLength: 64, blockCount: 2, contextLength: 8192, name: 'batch demo (random weights)' });
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
  return path;
}
