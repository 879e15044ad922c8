#!/usr/bin/env node
/**
 * A stand-in for the `llama-server` binary (put test/sim/bin on PATH): the llama-server flavour of
 * the simulator with llama-server's flags, log lines and failure exits. Env: LLAMA_API_KEY, SIM_LOAD_MS and
 * SIM_SERVICE_MS (default 0), SIM_HANG_AFTER (completions answered before every later one hangs:
 * a server frozen mid-run; unset: none hangs), SIM_START_LOG (a file that gets one JSON line per start),
 * SIM_ERROR500_RATE (share of completions answered 500, drawn from the seeded PRNG; default 0). Unlike
 * sim-server-main it ignores stdin, as the real binary does, so that batch's own orphan
 * protection is what gets tested.
 */
import { appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseLlamaServerArgs, type LlamaServerArgs } from './llama-server-args.js';
import { startSimServer, type SimServer } from './sim-server.js';

/** Context llama-server reports for `-c 0`: the model's trained context. */
const trainedContext = 4096;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function envMs(name: string): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return 0;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    log(`error: expected ${name} to be a number of milliseconds >= 0, got "${raw}"`);
    process.exit(1);
  }
  return value;
}

function fail(line: string): never {
  log(line);
  process.exit(1);
}

async function main(): Promise<void> {
  let args: LlamaServerArgs;
  try {
    args = parseLlamaServerArgs(process.argv.slice(2));
  } catch (error) {
    fail(`error: ${(error as Error).message}`);
  }
  const loadMs = envMs('SIM_LOAD_MS');
  const serviceMs = envMs('SIM_SERVICE_MS');
  const hangAfter = process.env['SIM_HANG_AFTER'] ? Number(process.env['SIM_HANG_AFTER']) : undefined;
  const error500Rate = Number(process.env['SIM_ERROR500_RATE'] ?? 0);
  if (!(error500Rate >= 0 && error500Rate <= 1)) fail(`error: expected SIM_ERROR500_RATE to be a share from 0 to 1, got "${process.env['SIM_ERROR500_RATE']}"`);
  log('build: 6000 (sim) with node for x86_64-linux-gnu');
  log(`system info: n_threads = 1, n_threads_batch = 1, total_threads = 1`);
  if (args.model === undefined) fail('error: fake llama-server needs -m/--model (router mode is not simulated)');
  if (!existsSync(args.model)) {
    log(`gguf_init_from_file: failed to open GGUF file '${args.model}'`);
    log(`llama_model_load: error loading model: llama_model_loader: failed to load model from ${args.model}`);
    fail('main: exiting due to model loading error');
  }
  // Without a unified KV cache, llama-server splits -c across the slots.
  const contextSize = Math.max(1, Math.floor((args.ctxSize === 0 ? trainedContext : args.ctxSize) / args.parallel));
  log('main: binding port with default address family');
  let server: SimServer;
  try {
    server = await startSimServer({
      flavour: 'llama-server',
      host: args.host,
      port: args.port,
      slots: args.parallel,
      models: [path.basename(args.model)],
      modelPath: args.model,
      contextSize,
      loadMs,
      serviceMs,
      script: hangAfter === undefined ? undefined : (n) => (n > hangAfter ? 'hang' : undefined),
      faults: { error500Rate },
      // As the real binary: with LLAMA_API_KEY set, every endpoint but /health wants the key.
      apiKey: process.env['LLAMA_API_KEY'] || undefined,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fail(`main: couldn't bind HTTP server socket, hostname: ${args.host}, port: ${args.port} (address in use)`);
    fail(`main: couldn't bind HTTP server socket, hostname: ${args.host}, port: ${args.port} (${(error as Error).message})`);
  }
  const { port } = server;
  log(`main: HTTP server is listening, hostname: ${args.host}, port: ${port}, http threads: ${args.parallel + 1}`);
  log('main: loading model');
  log(`srv    load_model: loading model '${args.model}'`);
  const startLog = process.env['SIM_START_LOG'];
  if (startLog !== undefined && startLog !== '') {
    appendFileSync(startLog, `${JSON.stringify({ pid: process.pid, model: args.model, port, time: Date.now() })}\n`);
  }
  const stop = (): void => {
    log('srv    operator(): operator(): cleaning up before exit...');
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const announce = (): void => {
    log(`srv          init: initializing slots, n_slots = ${args.parallel}`);
    log('main: model loaded');
    log(`main: server is listening on http://${args.host}:${port} - starting the main loop`);
    log('srv  update_slots: all slots are idle');
  };
  if (loadMs > 0) setTimeout(announce, loadMs);
  else announce();
}

void main();
