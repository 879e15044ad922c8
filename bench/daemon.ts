/**
 * Issue 20's measurements: servers that outlive a run (`batch up`), against the same prompts sent
 * straight to a llama-server that already runs (`batch run --server`), and against a run that
 * starts its own (cold), all in one run of this script on one model (~85 MB, generated).
 *
 * 1. A one-prompt job, spawn of `batch run` to its exit: warm daemon vs --server vs cold managed.
 * 2. 200 fresh prompts: through the daemon vs --server to a llama-server with the same slots.
 * 3. Two runs at once on one model through the daemon (40 + 40, then 200 + 200) vs one run of all
 *    the prompts: their time, the model servers started, each run's share while both ran.
 *
 * With `--engine embedded` the daemon, the peer and the cold run use the embedded server instead.
 *
 * Usage: npm run bench:daemon [-- --engine llama-server|embedded --slots 4 --max-tokens 8 --repeat 5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { writeTinyLlamaGguf } from '../src/models/gguf-writer.js';
import { ManagedServer } from '../src/servers/managed-server.js';
import { findLlamaServer } from '../src/servers/server-launcher.js';
import { batchBin, machine, median, printTable, printTarget } from './bench-kit.js';

const { values } = parseArgs({ options: { engine: { type: 'string', default: 'llama-server' }, slots: { type: 'string', default: '4' }, 'max-tokens': { type: 'string', default: '8' }, repeat: { type: 'string', default: '5' } } });
const slots = Number(values.slots);
const maxTokens = Number(values['max-tokens']);
const repeat = Number(values.repeat);
const engine = values.engine === 'embedded' ? 'embedded' : 'llama-server';
const llamaServer = findLlamaServer(process.env);
if (engine === 'llama-server' && llamaServer === undefined) {
  console.log('bench/daemon: no llama-server here; build it once with `npm run llama-server`');
  process.exit(0);
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-daemon-'));
const home = path.join(dir, 'home');
const model = path.join(dir, 'model.gguf');
const env = { ...process.env, BATCH_HOME: home, BATCH_OFFLINE: '1' };
let jobs = 0;

interface RunResult {
  readonly wallMs: number;
  readonly summary: { done: number; database: string; modelLoads: Array<{ loads: number }> };
}

/** `batch run` as a user types it, spawn to exit. */
function run(prompts: number, extra: readonly string[]): Promise<RunResult> {
  const input = path.join(dir, `job-${++jobs}.jsonl`);
  writeFileSync(input, Array.from({ length: prompts }, (_, i) => JSON.stringify({ id: `j${jobs}-${i}`, prompt: `fresh prompt ${jobs}-${i}: write about the number ${i * 7919 + jobs}`, max_tokens: maxTokens, temperature: 0 })).join('\n') + '\n');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [batchBin, 'run', input, '--model', model, '--json', '--quiet', ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`batch run ${extra.join(' ')} exited ${code}: ${err}`));
      const summary = JSON.parse(out) as RunResult['summary'];
      if (summary.done !== prompts) return reject(new Error(`${summary.done}/${prompts} done`));
      resolve({ wallMs: performance.now() - started, summary });
    });
  });
}

function cli(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [batchBin, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`batch ${args.join(' ')} exited ${code}`))));
  });
}

const loadsOf = (result: RunResult): number => result.summary.modelLoads.reduce((sum, m) => sum + m.loads, 0);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** Each run's share of the answers while both ran (from the later first answer to the earlier last one). */
function sharesWhileBoth(results: readonly RunResult[]): number[] {
  const times = results.map((result) => {
    const db = new Database(result.summary.database, { readonly: true });
    try {
      return db.prepare('SELECT finished_at FROM items ORDER BY finished_at').pluck().all() as number[];
    } finally {
      db.close();
    }
  });
  const from = Math.max(...times.map((t) => t[0]!));
  const to = Math.min(...times.map((t) => t.at(-1)!));
  const within = times.map((t) => t.filter((at) => at >= from && at <= to).length);
  const total = within.reduce((a, b) => a + b, 0);
  return within.map((n) => (total === 0 ? 0 : n / total));
}

async function main(): Promise<void> {
  await writeTinyLlamaGguf(model, { embeddingLength: 512, blockCount: 8, feedForwardLength: 1024, headCount: 8, contextLength: 2048 });
  console.log(`bench/daemon: model ${(readFileSync(model).length / 1e6).toFixed(0)} MB, ${slots} slots, ${maxTokens} answer tokens, engine ${engine === 'embedded' ? 'the embedded server' : `llama-server ${llamaServer}`}; at the start ${machine()}`);
  // The peer: a server of the same engine started once, as a user runs one, reached with --server.
  const launch = engine === 'embedded' ? ({ kind: 'embedded', threads: 1 } as const) : ({ kind: 'llama-server', binary: llamaServer! } as const);
  const direct = new ManagedServer({ launch, modelPath: model, logDir: path.join(dir, 'logs'), slots, contextSize: 512 });
  await direct.start();
  const keyEnv = { BENCH_LLAMA_KEY: direct.apiKey };
  Object.assign(env, keyEnv);
  const viaServer = ['--server', direct.url!, '--server-type', 'llama-server', '--api-key-env', 'BENCH_LLAMA_KEY', '--no-daemon'];
  const engineFlags = engine === 'embedded' ? ['--engine', 'embedded', '--threads', '1'] : ['--engine', 'llama-server', '--llama-server', llamaServer!];
  await cli(['up', '--model', model, ...engineFlags, '--slots', String(slots), '--ctx', '512']);
  try {
    await run(slots, []); // loads the model in the daemon
    await run(slots, viaServer); // warms the direct server the same way
    const one = { daemon: [] as number[], server: [] as number[], cold: [] as number[], daemonLoads: 0 };
    for (let i = 0; i < repeat; i++) {
      const warm = await run(1, []);
      one.daemon.push(warm.wallMs);
      one.daemonLoads += loadsOf(warm);
      one.server.push((await run(1, viaServer)).wallMs);
      if (i < 2) one.cold.push((await run(1, ['--no-daemon', ...engineFlags, '--slots', String(slots), '--ctx', '512'])).wallMs);
    }
    const throughput = { daemon: await run(200, []), server: await run(200, viaServer) };
    const concurrent = [];
    for (const each of [40, 200]) {
      const alone = await run(each * 2, []);
      const started = performance.now();
      const both = await Promise.all([run(each, []), run(each, [])]);
      const bothMs = performance.now() - started;
      const status = JSON.parse(await cli(['ps', '--json'])) as { models: Array<{ loads: number }> };
      concurrent.push({ each, aloneMs: alone.wallMs, bothMs, shares: sharesWhileBoth(both), servers: status.models.length, loads: status.models.reduce((s, m) => s + m.loads, 0) });
    }
    report(one, throughput, concurrent);
  } finally {
    await cli(['down', '--now']).catch(() => undefined);
    await direct.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(
  one: { daemon: number[]; server: number[]; cold: number[]; daemonLoads: number },
  throughput: { daemon: RunResult; server: RunResult },
  concurrent: Array<{ each: number; aloneMs: number; bothMs: number; shares: number[]; servers: number; loads: number }>,
): void {
  const [d, s, c] = [median(one.daemon), median(one.server), median(one.cold)];
  printTable(['one-prompt job, spawn to exit (median)', 'time', 'model loads in the run'], [
    [`warm daemon (${repeat} runs)`, seconds(d), String(one.daemonLoads)],
    [`--server to a running ${engine} (${repeat} runs)`, seconds(s), '-'],
    [`cold: the run starts its own ${engine} (${one.cold.length} runs)`, seconds(c), '1 each'],
  ]);
  printTarget({ target: `${engine}: one-prompt job with a warm daemon vs --server to a running server (spawn to exit)`, batch: seconds(d), peer: seconds(s), measured: `${(d / s).toFixed(2)}x, ${one.daemonLoads} loads`, goal: '<= 1.00x, 0 loads', met: d <= s && one.daemonLoads === 0 });
  const ratio = throughput.server.wallMs / throughput.daemon.wallMs;
  printTable(['200 fresh prompts', 'time', 'req/s'], [
    ['through the daemon', seconds(throughput.daemon.wallMs), (200000 / throughput.daemon.wallMs).toFixed(1)],
    [`--server to the same kind of ${engine}`, seconds(throughput.server.wallMs), (200000 / throughput.server.wallMs).toFixed(1)],
  ]);
  printTarget({ target: `${engine}: 200 prompts through the daemon vs --server straight to the server (throughput)`, batch: seconds(throughput.daemon.wallMs), peer: seconds(throughput.server.wallMs), measured: `${ratio.toFixed(2)}x`, goal: '>= 0.95x', met: ratio >= 0.95 });
  printTable(['two runs at once on one model', 'both', 'one run of all', 'ratio', 'servers', 'loads', 'shares while both ran'], concurrent.map((row) => [
    `${row.each} + ${row.each}`, seconds(row.bothMs), seconds(row.aloneMs), `${(row.bothMs / row.aloneMs).toFixed(2)}x`, String(row.servers), String(row.loads), row.shares.map((x) => `${(x * 100).toFixed(0)}%`).join(' / '),
  ]));
  for (const row of concurrent) {
    const met = row.bothMs <= 1.5 * row.aloneMs && row.servers === 1 && row.shares.every((x) => x >= 0.4);
    printTarget({ target: `${engine}: two runs of ${row.each} at once vs one run of ${row.each * 2} (one server, each >= 40% while both ran)`, batch: seconds(row.bothMs), peer: seconds(row.aloneMs), measured: `${(row.bothMs / row.aloneMs).toFixed(2)}x, ${row.servers} server, ${row.shares.map((x) => `${(x * 100).toFixed(0)}%`).join('/')}`, goal: '<= 1.5x, 1 server, >= 40% each', met });
  }
  console.log(`at the end ${machine()}`);
}

await main();
