/**
 * Process entry of the embedded llama.cpp server:
 * `node dist/embedded/embedded-server-main.js --model P [--host 127.0.0.1] [--port 0] --parallel N --ctx N [--threads N] [--gpu auto|off] [--gpu-layers N]`.
 *
 * Protocol on stdout, one JSON object per line:
 * `{"event":"listening","url":...,"pid":...}` once listening (the model keeps loading; poll /health),
 * `{"event":"ready"}` once loaded, `{"event":"error","code":...,"message":...}` before exiting 3.
 * The model is loaded only in this process, so a llama.cpp abort never takes the parent down.
 * The process exits when its parent goes away: stdin ends (the parent holds a pipe) or its
 * parent pid changes.
 */
import { parseArgs } from 'node:util';
import { AppError, ExitCode, UsageError } from '../errors.js';
import { parseEmbeddedServerFlags, type EmbeddedServerFlagOptions } from './embedded-server-flags.js';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
import { SERVER_API_KEY_VARIABLE } from '../servers/server-api-key.js';

const USAGE =
  'usage: node dist/embedded/embedded-server-main.js --model P [--host 127.0.0.1] [--port 0] --parallel N --ctx N [--threads N] [--gpu auto|off] [--gpu-layers N]';

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function usage(message: string): never {
  throw new UsageError(`${message}\n${USAGE}`);
}

async function main(): Promise<void> {
  const { values: argv } = parseArgs({
    options: {
      model: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      parallel: { type: 'string' },
      ctx: { type: 'string' },
      threads: { type: 'string' },
      gpu: { type: 'string' },
      'gpu-layers': { type: 'string' },
    },
  });
  let options: EmbeddedServerFlagOptions;
  try {
    // llama-server's flag names, as buildServerCommand passes them; the caller always says how many slots.
    if (argv.parallel === undefined || argv.ctx === undefined) usage('--parallel and --ctx are required');
    options = parseEmbeddedServerFlags({ ...argv, slots: argv.parallel, contextSize: argv.ctx, gpuLayers: argv['gpu-layers'] }, 0);
  } catch (error) {
    usage((error as Error).message);
  }
  const { modelPath } = options;
  if (modelPath === undefined) usage('--model is required');
  // The key comes through the environment, as llama-server's does: arguments show in `ps`.
  const apiKey = process.env[SERVER_API_KEY_VARIABLE] || undefined;
  const server = await startEmbeddedServer({ ...options, modelPath, apiKey });
  watchParent(server);
  emit({ event: 'listening', url: server.url, pid: process.pid });
  try {
    const ready = await server.ready;
    emit({ event: 'ready', ...ready });
  } catch (error) {
    fail(error);
    await server.close().catch(() => undefined);
    process.exit(ExitCode.Environment);
  }
}

/** Exits (after closing the server) when stdin closes, the parent pid changes, or on SIGTERM/SIGINT. */
function watchParent(server: EmbeddedServer): void {
  let exiting = false;
  const shutdown = (): void => {
    if (exiting) return;
    exiting = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(ExitCode.Environment),
    );
  };
  // `on`, not `once`: signal-exit (loaded by a node-llama-cpp dependency) re-raises the signal
  // when it finds itself the only listener left, which would kill us before the server closes.
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) shutdown();
  }, 1000).unref();
}

function fail(error: unknown): void {
  const appError = error instanceof AppError ? error : undefined;
  emit({
    event: 'error',
    code: appError?.code ?? 'SERVER_CRASHED',
    message: error instanceof Error ? error.message : String(error),
  });
}

main().catch((error: unknown) => {
  fail(error);
  process.exit(error instanceof AppError && error.exitCode === ExitCode.Usage ? ExitCode.Usage : ExitCode.Environment);
});
