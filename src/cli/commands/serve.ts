import { basename } from 'node:path';
import { ServerError, UsageError } from '../../errors.js';
import type { CliIo } from '../io.js';

/** Flags of `batch serve`. */
export interface ServeOptions {
  /** GGUF model to serve. @default the default model (see resolveDefaultModel) */
  readonly model?: string;
  /** Interface to listen on; anything but loopback exposes an unauthenticated server. @default '127.0.0.1' */
  readonly host?: string;
  /** TCP port; 0 picks a free one. @default 8080 */
  readonly port?: number;
  /** Slots (sequences generating at once). @default 1 */
  readonly parallel?: number;
  /** Context size per slot. @default min(trained context, 2048) */
  readonly ctx?: number;
  /** CPU threads, capped at the physical cores. @default physical cores - 1 (at least 1) */
  readonly threads?: number;
  /** 'auto' uses CUDA/Vulkan when available; 'off' forces the CPU. @default 'auto' */
  readonly gpu?: 'auto' | 'off';
}

const BACKEND_LABELS = { cpu: 'CPU', cuda: 'CUDA', vulkan: 'Vulkan', metal: 'Metal' } as const;

/**
 * `batch serve`: runs the embedded llama.cpp server in the foreground (OpenAI-compatible, with
 * llama-server's /health, /props and /slots) until the user stops it. Returns the exit code.
 */
export async function serveCommand(options: ServeOptions, io: CliIo): Promise<number> {
  if (options.gpu !== undefined && options.gpu !== 'auto' && options.gpu !== 'off') {
    throw new UsageError(`expected --gpu to be auto or off, got ${JSON.stringify(options.gpu)}`);
  }
  let modelPath = options.model;
  if (modelPath === undefined) {
    const { resolveDefaultModel } = await import('../../models/default-model.js');
    const chosen = await resolveDefaultModel({ env: io.env, log: (line) => io.stderr.write(`${line}\n`) });
    if (chosen.notice !== undefined) io.stderr.write(`${chosen.notice}\n`);
    modelPath = chosen.path;
  }
  const { startEmbeddedServer } = await import('../../servers/embedded-server.js');
  const server = await startEmbeddedServer({
    modelPath,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8080,
    ...(options.parallel === undefined ? {} : { parallel: options.parallel }),
    ...(options.ctx === undefined ? {} : { contextSize: options.ctx }),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    gpu: options.gpu === 'off' ? false : 'auto',
  });
  try {
    io.stderr.write(`loading ${basename(modelPath)} (${(server.model.fileBytes / 1e6).toFixed(1)} MB) on ${server.url} ...\n`);
    const stopped = new Promise<'stopped'>((resolve) => {
      if (io.softStop.aborted) resolve('stopped');
      else io.softStop.addEventListener('abort', () => resolve('stopped'), { once: true });
    });
    let ready;
    try {
      ready = await Promise.race([server.ready, stopped]);
    } catch (error) {
      throw new ServerError(
        'SERVER_NOT_READY',
        `the embedded server could not load ${modelPath}: ${error instanceof Error ? error.message : String(error)}; check the file, or lower --ctx/--parallel if memory ran out`,
        error,
      );
    }
    if (ready === 'stopped') return 0;
    io.stderr.write(
      `listening on ${server.url} (model ${ready.modelId}, ${ready.slots} slot${ready.slots === 1 ? '' : 's'}, ctx ${ready.contextSize}, ${ready.threads} thread${ready.threads === 1 ? '' : 's'}, ${BACKEND_LABELS[ready.backend]})\n`,
    );
    await stopped;
    return 0;
  } finally {
    await server.close();
  }
}
