import { defaults } from '../defaults.js';
import { UsageError } from '../errors.js';
import { llamaCppCacheDir } from '../setup/llama-cpp-cache.js';
import { checkLlamaServerArgs } from './check-llama-server-args.js';
import { findLlamaServer, type ServerLaunch } from './server-launcher.js';

/** Which server runs managed models (`--engine`). */
export type ServerEngine = 'auto' | 'embedded' | 'llama-server';

/** The settings that decide how managed servers are started. */
export interface ChooseServerLaunchOptions {
  /** `--engine`; auto is llama-server when one is found, else the embedded server. @default 'auto' */
  readonly engine?: ServerEngine;
  /** `--llama-server`: the binary. */
  readonly llamaServer?: string;
  /** `--llama-server-args`, one string split on white space; '' is none. */
  readonly llamaServerArgs?: string;
  /** `--gpu-layers`: reaches either kind of server (llama-server's -ngl, node-llama-cpp's gpuLayers). */
  readonly gpuLayers?: number;
  /** `--threads` given, else undefined: llama-server keeps its own default. */
  readonly threads?: number;
  /** The embedded server's threads (its default is decided by the caller). */
  readonly embeddedThreads: number;
}

/**
 * The one choice of the server that runs managed models. `--engine auto` keeps the old rule
 * (llama-server from --llama-server, PATH or `batch setup llama-server`'s cache, else the embedded
 * server); `embedded` runs the embedded server even where llama-server is built; `llama-server`
 * refuses to fall back. Every setting reaches the server chosen or is refused: llama-server's own
 * flags given to the embedded server, or flags of `--llama-server-args` that batch sets itself.
 */
export function chooseServerLaunch(options: ChooseServerLaunchOptions, env: Readonly<Record<string, string | undefined>>): ServerLaunch {
  const engine = options.engine ?? defaults.engine;
  const extraArgs = (options.llamaServerArgs ?? '').split(/\s+/).filter(Boolean);
  const embedded: ServerLaunch = { kind: 'embedded', threads: options.embeddedThreads, ...(options.gpuLayers === undefined ? {} : { gpuLayers: options.gpuLayers }) };
  if (engine === 'embedded') {
    if (options.llamaServer !== undefined) throw new UsageError(`--engine embedded runs the embedded server, yet --llama-server names ${options.llamaServer}: leave out one of them`);
    refuseArgsForEmbedded(extraArgs, '--engine embedded runs the embedded server');
    return embedded;
  }
  const binary = findLlamaServer(env, options.llamaServer);
  if (binary === undefined) {
    if (engine === 'llama-server') {
      throw new UsageError(
        `--engine llama-server: no llama-server found (none on PATH, none built in ${llamaCppCacheDir(env)}); run \`batch setup llama-server\` to build one, pass --llama-server BIN, or use --engine embedded`,
      );
    }
    refuseArgsForEmbedded(extraArgs, 'no llama-server was found (none on PATH, none built by `batch setup llama-server`), so the embedded server runs the models');
    return embedded;
  }
  checkLlamaServerArgs(extraArgs);
  // llama-server runs in its own process and keeps its own thread default unless --threads is given.
  return { kind: 'llama-server', binary, gpuLayers: options.gpuLayers, extraArgs, threads: options.threads };
}

function refuseArgsForEmbedded(args: readonly string[], why: string): void {
  if (args.length === 0) return;
  throw new UsageError(
    `--llama-server-args "${args.join(' ')}" are for llama-server, but ${why}, which would ignore them: use --engine llama-server (after \`batch setup llama-server\`), or clear them with --llama-server-args ''`,
  );
}
