import { availableParallelism } from 'node:os';
import { AppError, UsageError } from '../../errors.js';
import type { GivenSettings } from '../../app/settings/settings-table.js';
import type { CommandRunner } from '../../setup/run-logged-command.js';
import type { CudaProbe } from '../../setup/choose-build-backend.js';
import type { LlamaCppSource } from '../../setup/llama-cpp-cache.js';
import type { CliIo } from '../io.js';

/** What `batch setup` can set up. */
export const setupTargets = ['llama-server'] as const;

/** `batch setup`'s options: its rows of the settings table, plus what tests inject. */
export type SetupOptions = GivenSettings<'setup'> & {
  /** The positional argument: what to set up. */
  readonly target: string;
  /** Tests: a fake command runner instead of git and cmake. */
  readonly runCommand?: CommandRunner;
  /** Tests: the machine's CUDA toolkit and GPU. @default probeCuda(io.env) */
  readonly cudaProbe?: CudaProbe;
  /** Tests: the llama.cpp source. @default the one node-llama-cpp ships */
  readonly source?: LlamaCppSource;
};

/**
 * `batch setup llama-server`: builds llama-server (and llama-batched-bench) from the llama.cpp
 * source node-llama-cpp ships, into the cache `batch` looks in after PATH. A finished build is found
 * and printed at once. Progress goes to stderr, the binary's path to stdout (for scripts).
 */
export async function setupCommand(options: SetupOptions, io: CliIo): Promise<number> {
  if (!(setupTargets as readonly string[]).includes(options.target)) {
    throw new UsageError(`batch setup ${options.target}: expected one of ${setupTargets.join(', ')}, got "${options.target}"; run \`batch setup llama-server\``);
  }
  const [{ buildLlamaServer }, { chooseBuildBackend, probeCuda }, cache] = await Promise.all([
    import('../../setup/build-llama-server.js'),
    import('../../setup/choose-build-backend.js'),
    import('../../setup/llama-cpp-cache.js'),
  ]);
  const source = options.source ?? cache.findLlamaCppSource();
  if (source === undefined) {
    throw new AppError(
      'LLAMA_SERVER_BUILD_FAILED',
      "node-llama-cpp's llama.cpp source (node_modules/node-llama-cpp/llama/gitRelease.bundle and llama.cpp.info.json) was not found; run `npm install` in batch's folder, or put a llama-server of your own on PATH",
    );
  }
  const choice = chooseBuildBackend(options.backend ?? 'auto', options.cudaProbe ?? probeCuda(io.env));
  const cacheDir = cache.llamaCppCacheDir(io.env);
  const log = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  // The first Ctrl-C stops the build: nothing in it is worth finishing.
  const result = await buildLlamaServer({
    source,
    cacheDir,
    backend: choice.backend,
    nvcc: choice.nvcc,
    jobs: availableParallelism(),
    log,
    signal: io.softStop,
    runCommand: options.runCommand,
    onStart: () => log(`backend: ${choice.reason}`),
  });
  if (!result.built) log(`llama-server ${result.tag} (${result.backend === 'cuda' ? 'CUDA' : 'CPU'}) is already built in ${result.dir}`);
  log(`batch uses it for managed servers when no llama-server is on PATH (or pass --llama-server ${result.serverPath})`);
  io.stdout.write(`${result.serverPath}\n`);
  return 0;
}
