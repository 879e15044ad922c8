import { checkWholeNumber, optionError, parseWholeNumber } from '../util/check-option.js';
import type { EmbeddedServerOptions } from './embedded-server.js';
import { defaults } from '../defaults.js';

/**
 * The embedded server's flags, as `batch serve` and the server process
 * (embedded-server-main.ts) both take them: numbers as argv text, or already parsed. Keys are the
 * settings table's (`slots` for `--slots`/`--parallel`, `contextSize` for `--ctx`).
 */
export interface EmbeddedServerFlags {
  /** `--model`: the GGUF file. */
  readonly model?: string;
  /** `--host`: the interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** `--port`: 0 picks a free one. @default the caller's `defaultPort` */
  readonly port?: string | number;
  /** `--slots` (the server process: llama-server's `--parallel`): sequences generating at once. */
  readonly slots: string | number;
  /** `--ctx`: context per slot, capped at the trained context; 0 is the trained context. */
  readonly contextSize: string | number;
  /** `--threads`: CPU threads. @default physical cores - 1 */
  readonly threads?: string | number;
  /** `--gpu auto|off`. @default 'auto' */
  readonly gpu?: string;
  /** `--gpu-layers`: layers offloaded to the GPU. @default node-llama-cpp's auto */
  readonly gpuLayers?: string | number;
}

/** The flags as server options; `modelPath` is absent when `--model` was not given. */
export type EmbeddedServerFlagOptions = Omit<EmbeddedServerOptions, 'modelPath'> & { readonly modelPath?: string };

/**
 * Checks the embedded server's flags and turns them into `startEmbeddedServer` options: the one
 * reading of `--host --port --slots --ctx --threads --gpu --gpu-layers`, with UsageError naming the flag.
 */
export function parseEmbeddedServerFlags(flags: EmbeddedServerFlags, defaultPort: number): EmbeddedServerFlagOptions {
  const gpu = flags.gpu ?? defaults.gpu;
  if (gpu !== 'auto' && gpu !== 'off') throw optionError('--gpu', '"auto" or "off"', gpu);
  if (flags.model !== undefined && (typeof flags.model !== 'string' || flags.model === '')) throw optionError('--model', 'the path of a .gguf file', flags.model);
  const host = flags.host ?? defaults.host;
  if (typeof host !== 'string' || host === '') throw optionError('--host', 'a host name or address', host);
  const slots = wholeNumberFlag('--slots', flags.slots, 1)!;
  const contextSize = wholeNumberFlag('--ctx', flags.contextSize, 0)!;
  const threads = wholeNumberFlag('--threads', flags.threads, 1);
  const gpuLayers = wholeNumberFlag('--gpu-layers', flags.gpuLayers, 0);
  return {
    ...(flags.model === undefined ? {} : { modelPath: flags.model }),
    // Loopback unless the user names another interface: the server has no authentication.
    host,
    port: wholeNumberFlag('--port', flags.port, 0, 65535) ?? defaultPort,
    slots,
    contextSize,
    ...(threads === undefined ? {} : { threads }),
    gpu: gpu === 'off' ? false : 'auto',
    ...(gpuLayers === undefined ? {} : { gpuLayers }),
  };
}

function wholeNumberFlag(flag: string, value: string | number | undefined, min: number, max?: number): number | undefined {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? parseWholeNumber(flag, value, min, max) : checkWholeNumber(flag, value, min, max);
}
