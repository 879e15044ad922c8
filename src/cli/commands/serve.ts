import { basename } from 'node:path';
import { ServerError } from '../../errors.js';
import { isLoopbackHost } from '../../backends/is-loopback.js';
import type { CliIo } from '../io.js';
import type { GivenSettings } from '../../app/settings/settings-table.js';

/** `batch serve`'s options: its rows of the settings table, where each flag's help and default live. */
export type ServeOptions = GivenSettings<'serve'>;

const BACKEND_LABELS = { cpu: 'CPU', cuda: 'CUDA', vulkan: 'Vulkan', metal: 'Metal' } as const;

/**
 * `batch serve`: runs the embedded llama.cpp server in the foreground (OpenAI-compatible, with
 * llama-server's /health, /props and /slots) until the user stops it. Returns the exit code.
 */
export async function serveCommand(options: ServeOptions, io: CliIo): Promise<number> {
  const [{ parseEmbeddedServerFlags }, { settingDefault, settingDefaults }] = await Promise.all([import('../../embedded/embedded-server-flags.js'), import('../../app/settings/settings-table.js')]);
  const defaults = settingDefaults('serve');
  const flags = parseEmbeddedServerFlags({ ...options, slots: options.slots ?? defaults.slots!, contextSize: options.contextSize ?? defaults.contextSize!, port: options.port ?? defaults.port }, defaults.port!);
  const { apiKeyFromVariable } = await import('../../app/settings/api-key.js');
  const apiKey = options.apiKeyEnv === undefined ? undefined : apiKeyFromVariable(options.apiKeyEnv, io.env, 'the key clients must send');
  if (apiKey === undefined && !isLoopbackHost(flags.host ?? settingDefault('serve', 'host'))) {
    io.stderr.write(`batch: listening on ${flags.host} without an API key: anyone who can reach this port can use the model; pass --api-key-env NAME\n`);
  }
  let modelPath = flags.modelPath;
  if (modelPath === undefined) {
    const { resolveDefaultModel } = await import('../../models/default-model.js');
    const chosen = await resolveDefaultModel({ env: io.env, log: (line) => io.stderr.write(`${line}\n`) });
    if (chosen.notice !== undefined) io.stderr.write(`${chosen.notice}\n`);
    modelPath = chosen.path;
  }
  const { startEmbeddedServer } = await import('../../embedded/embedded-server.js');
  const server = await startEmbeddedServer({ ...flags, modelPath, apiKey });
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
        `the embedded server could not load ${modelPath}: ${error instanceof Error ? error.message : String(error)}; check the file, or lower --ctx/--slots if memory ran out`,
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
