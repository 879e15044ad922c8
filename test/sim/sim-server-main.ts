/**
 * The simulated server as its own process, for tests and benchmarks that must not share its CPU:
 *   node .build/test/sim/sim-server-main.js --port 0 --slots 8 --service-ms 50 --flavour llama-server
 *     --models a,b --load-ms 0 --completion-tokens 16 --fault-500 0.05 --fault-429 0.02
 *     --fault-drop 0.02 --fault-hang 0 --retry-after 1 --seed 1 --api-key-env NAME
 * Prints one line `{"url":"http://127.0.0.1:PORT","pid":N}` once listening, then nothing. Exits on
 * SIGTERM/SIGINT and when stdin (a pipe) closes, so a parent that dies leaves no server behind.
 */
import { fstatSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startSimServer } from './sim-server.js';
import type { SimFlavour, SimServerOptions } from './sim-options.js';

const numberFlags = ['port', 'slots', 'service-ms', 'load-ms', 'completion-tokens', 'fault-500', 'fault-429', 'fault-drop', 'fault-hang', 'retry-after', 'seed'] as const;

function readNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new TypeError(`Expected \`--${name}\` to be a number, got \`${value}\``);
  return number;
}

function parseOptions(argv: readonly string[]): SimServerOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      flavour: { type: 'string' },
      models: { type: 'string' },
      'api-key-env': { type: 'string' },
      host: { type: 'string' },
      ...Object.fromEntries(numberFlags.map((name) => [name, { type: 'string' as const }])),
    },
  });
  const flags = values as Record<string, string | undefined>;
  const n = (name: (typeof numberFlags)[number]): number | undefined => readNumber(name, flags[name]);
  const keyEnv = flags['api-key-env'];
  const apiKey = keyEnv === undefined ? undefined : process.env[keyEnv];
  if (keyEnv !== undefined && (apiKey === undefined || apiKey === '')) {
    throw new TypeError(`Expected environment variable \`${keyEnv}\` (from --api-key-env) to hold an API key, got nothing`);
  }
  return {
    flavour: flags['flavour'] as SimFlavour | undefined,
    host: flags['host'],
    port: n('port'),
    slots: n('slots'),
    serviceMs: n('service-ms'),
    loadMs: n('load-ms'),
    completionTokens: n('completion-tokens'),
    models: flags['models']?.split(',').map((model) => model.trim()),
    faults: {
      error500Rate: n('fault-500'),
      error429Rate: n('fault-429'),
      dropRate: n('fault-drop'),
      hangRate: n('fault-hang'),
      retryAfterSeconds: n('retry-after'),
    },
    seed: n('seed'),
    apiKey,
  };
}

/** Only a pipe or socket on stdin means a parent holds the other end; a TTY or /dev/null does not. */
function stdinIsPipe(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  let options: SimServerOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`sim-server: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const server = await startSimServer(options);
  let exiting = false;
  const exit = (): void => {
    if (exiting) return;
    exiting = true;
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', exit);
  process.once('SIGINT', exit);
  if (stdinIsPipe()) {
    process.stdin.on('data', () => undefined);
    process.stdin.once('end', exit);
    process.stdin.once('close', exit);
    process.stdin.once('error', exit);
  }
  process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`sim-server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
