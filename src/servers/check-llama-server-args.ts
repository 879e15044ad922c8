import { UsageError } from '../errors.js';

/**
 * llama-server flags that `batch` sets itself on every managed server, each with what to use
 * instead. Given again in `--llama-server-args` they would win (llama-server takes the last) and
 * break the server `batch` waits for: another port or host is never reached (the start hangs until
 * --startup-timeout), `-m` serves another model under this one's name, an API key locks `batch` out.
 */
const ownedFlags: ReadonlyArray<readonly [readonly string[], string]> = [
  [['-m', '--model'], 'pass the model with --model (or name it in the prompts with --models-dir)'],
  [['--host'], 'batch binds every managed server to 127.0.0.1; to serve other machines, run `batch serve --host` or your own llama-server and pass --server'],
  [['--port'], 'batch picks a free port for each managed server; to use a server on a fixed port, start it yourself and pass --server'],
  [['--api-key', '--api-key-file'], 'batch gives each managed server a key of its own; to use a key, start the server yourself and pass --server with --api-key-env'],
  [['-np', '--parallel'], 'use --slots'],
  [['-c', '--ctx-size'], 'use --ctx (per slot: batch passes -c as slots × ctx)'],
  [['-t', '--threads'], 'use --threads'],
  [['-ngl', '--gpu-layers', '--n-gpu-layers'], 'use --gpu-layers'],
];

/**
 * Refuses `--llama-server-args` that set a flag `batch` owns, naming the argument, the value seen and
 * the `batch` flag to use instead (UsageError, exit 2, before any server starts).
 */
export function checkLlamaServerArgs(args: readonly string[]): void {
  for (const arg of args) {
    const name = arg.split('=')[0]!;
    const owned = ownedFlags.find(([names]) => names.includes(name));
    if (owned !== undefined) {
      throw new UsageError(`--llama-server-args "${args.join(' ')}": ${name} is set by batch on every managed server; ${owned[1]}, and leave ${name} out of --llama-server-args`);
    }
  }
}
