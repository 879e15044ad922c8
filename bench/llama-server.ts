/**
 * How close `batch` comes to the engine's own limit. The same shape of work (N fresh chat prompts of
 * about P tokens, T answer tokens, S slots, one generated model) through:
 *   (a) `batch run` with a managed llama-server,
 *   (b) `batch run` with the embedded server (node-llama-cpp),
 *   (c) a bare keep-alive node:http pool (S in flight) against a llama-server started here,
 * beside (d) llama-batched-bench's figure for the same model, prompt length and parallelism.
 * Every mode gets prompts no other mode saw (a nonce per mode), so no prompt-cache hit helps.
 * Usage: npm run bench:llama-server [-- --prompts 200 --prompt-tokens 200 --max-tokens 15 --slots 4
 *        --threads N --modes managed,embedded,bare,engine --llama-server BIN]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { findFreePort } from '../src/servers/free-port.js';
import { findLlamaServer } from '../src/servers/server-launcher.js';
import { writeTinyLlamaGguf } from '../src/models/gguf-writer.js';
import { createSeededRandom } from '../src/models/seeded-random.js';
import { repoRoot } from '../test/helpers/sim-process.js';
import { printTarget } from './bench-kit.js';

const { values } = parseArgs({
  options: {
    prompts: { type: 'string', default: '200' },
    'prompt-tokens': { type: 'string', default: '200' },
    'max-tokens': { type: 'string', default: '15' },
    slots: { type: 'string', default: '4' },
    ctx: { type: 'string', default: '512' },
    threads: { type: 'string' },
    modes: { type: 'string', default: 'managed,embedded,bare,engine' },
    'llama-server': { type: 'string' },
    model: { type: 'string' },
  },
});
const count = Number(values.prompts);
const promptTokens = Number(values['prompt-tokens']);
const maxTokens = Number(values['max-tokens']);
const slots = Number(values.slots);
const ctx = Number(values.ctx);
const threads = values.threads;
const modes = new Set(values.modes!.split(','));
const llamaServer = findLlamaServer(process.env, values['llama-server']);
if (llamaServer === undefined) {
  console.error('bench/llama-server: no llama-server (PATH, --llama-server, or the cache of `batch setup llama-server`): run `npm run llama-server` first');
  process.exit(3);
}
const batchedBench = path.join(path.dirname(llamaServer), 'llama-batched-bench');

const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-llama-'));
const model = values.model ?? path.join(dir, 'bench-100mb.gguf');
let modelBytes = 0;
if (values.model === undefined) {
  const started = performance.now();
  modelBytes = (await writeTinyLlamaGguf(model, { embeddingLength: 512, blockCount: 8, feedForwardLength: 1536, headCount: 8, contextLength: 8192 })).bytes;
  console.error(`generated ${model} (${(modelBytes / 1e6).toFixed(0)} MB) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} else {
  modelBytes = readFileSync(model).byteLength;
}

/** Words that are one token each in the generated vocabulary, so a prompt's length is predictable. */
const WORDS = ['the', 'a', 'and', 'of', 'to', 'is', 'in', 'it', 'hello', 'world', 'yes', 'no'];
/** Words per prompt: set by `calibrate` so that a prompt is `promptTokens` tokens with the chat template. */
let wordsPerPrompt = promptTokens;
/** `count` prompts no earlier run or mode has sent: the nonce starts each, the rest is seeded noise. */
function freshPrompts(mode: string, words = wordsPerPrompt, n = count): string[] {
  const nonce = `${mode}${Date.now().toString(36)}`;
  const random = createSeededRandom(Number.parseInt(Date.now().toString().slice(-6), 10) + mode.length);
  return Array.from({ length: n }, (_, i) => `${nonce} ${i} ${Array.from({ length: words }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ')}`);
}

/** Fits prompt tokens = a + b × words from two probes (the generated vocabulary spells most words in bytes). */
async function calibrate(url: string): Promise<void> {
  const tokensOf = async (words: number): Promise<number> => {
    const body = JSON.stringify({ messages: [{ role: 'user', content: freshPrompts('calibrate', words, 1)[0] }], max_tokens: 1 });
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(new URL('/v1/chat/completions', url), { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let out = '';
        res.on('data', (chunk: Buffer) => (out += chunk.toString()));
        res.on('end', () => resolve(out));
      });
      req.on('error', reject);
      req.end(body);
    });
    return (JSON.parse(text) as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
  };
  const [small, large] = [await tokensOf(10), await tokensOf(40)];
  const perWord = (large - small) / 30;
  wordsPerPrompt = Math.max(1, Math.round(10 + (promptTokens - small) / perWord));
}

interface ModeResult {
  readonly wallMs: number;
  readonly note: string;
}

/** (a), (b): `batch run` as a user types it, timed from spawn to exit (server start and load included). */
async function runBatch(mode: 'managed' | 'embedded'): Promise<ModeResult & { summaryWallMs: number; completionTokens: number }> {
  const input = path.join(dir, `${mode}.jsonl`);
  writeFileSync(input, freshPrompts(mode).map((prompt, i) => JSON.stringify({ id: `p${i}`, prompt, max_tokens: maxTokens, temperature: 0 })).join('\n') + '\n');
  const args = [path.join(repoRoot, 'bin/batch.js'), 'run', input, '--model', model, '--slots', String(slots), '--ctx', String(ctx), '--quiet', '--json'];
  if (threads !== undefined) args.push('--threads', threads);
  if (mode === 'managed') args.push('--llama-server', llamaServer!);
  // The embedded mode must not find llama-server on PATH or in the cache.
  const env = { ...process.env, BATCH_HOME: path.join(dir, `home-${mode}`), BATCH_OFFLINE: '1', ...(mode === 'embedded' ? { PATH: path.dirname(process.execPath), BATCH_LLAMA_CPP_DIR: path.join(dir, 'no-cache') } : {}) };
  const started = performance.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`batch run (${mode}) exited ${code}`))));
  });
  const wallMs = performance.now() - started;
  const summary = JSON.parse(stdout) as { done: number; wallMs: number; completionTokens: number };
  if (summary.done !== count) throw new Error(`batch run (${mode}): ${summary.done}/${count} done`);
  return { wallMs, summaryWallMs: summary.wallMs, completionTokens: summary.completionTokens, note: `${summary.done}/${count} done, ${(summary.completionTokens / count).toFixed(1)} answer tokens/prompt` };
}

/** Starts llama-server as `batch` does (-np slots, -c slots × ctx) and waits for /health. */
async function startLlamaServer(): Promise<{ url: string; stop: () => Promise<void>; startMs: number }> {
  const port = await findFreePort();
  const args = ['-m', model, '--host', '127.0.0.1', '--port', String(port), '-np', String(slots), '-c', String(slots * ctx)];
  if (threads !== undefined) args.push('-t', threads);
  const started = performance.now();
  const child = spawn(llamaServer!, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited ${child.exitCode}`);
    const status = await new Promise<number>((resolve) => http.get(`${url}/health`, (res) => resolve(res.resume().statusCode ?? 0)).on('error', () => resolve(0)));
    if (status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const startMs = performance.now() - started;
  return { url, startMs, stop: () => new Promise<void>((resolve) => child.once('exit', () => resolve()).kill('SIGTERM')) };
}

/** (c) The ideal client: S requests in flight on keep-alive sockets, answers parsed and dropped. */
async function runBarePool(): Promise<ModeResult & { promptTokens: number; completionTokens: number }> {
  const server = await startLlamaServer();
  await calibrate(server.url).catch(async (error: unknown) => {
    await server.stop();
    throw error;
  });
  const prompts = freshPrompts('bare');
  const agent = new http.Agent({ keepAlive: true, maxSockets: slots });
  const target = new URL('/v1/chat/completions', server.url);
  let prompted = 0;
  let completed = 0;
  const send = (prompt: string): Promise<void> => {
    const body = JSON.stringify({ messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, temperature: 0 });
    return new Promise((resolve, reject) => {
      const req = http.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
          const usage = (JSON.parse(text) as { usage: { prompt_tokens: number; completion_tokens: number } }).usage;
          prompted += usage.prompt_tokens;
          completed += usage.completion_tokens;
          resolve();
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };
  let next = 0;
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: slots }, async () => {
      while (next < prompts.length) await send(prompts[next++]!);
    }));
  } finally {
    agent.destroy();
    await server.stop();
  }
  const wallMs = performance.now() - started;
  return { wallMs, promptTokens: prompted / count, completionTokens: completed / count, note: `server ready in ${(server.startMs / 1000).toFixed(1)} s (not counted); ${(prompted / count).toFixed(0)} prompt + ${(completed / count).toFixed(1)} answer tokens/prompt` };
}

/** (d) llama-batched-bench: S sequences of P prompt + T answer tokens at once; scaled to N prompts. */
async function runEngine(prompt: number, answer: number): Promise<ModeResult> {
  if (!existsSync(batchedBench)) throw new Error(`no llama-batched-bench beside ${llamaServer}: build it with \`npm run llama-server\``);
  const args = ['-m', model, '-c', String(slots * ctx), '-b', '2048', '-ub', '512', '-npp', String(prompt), '-ntg', String(answer), '-npl', String(slots)];
  if (threads !== undefined) args.push('-t', threads);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(batchedBench, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`llama-batched-bench exited ${code}`))));
  });
  // |    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |      T s |    S t/s |
  const row = output.split('\n').find((line) => /^\|\s+\d+\s+\|/.test(line));
  if (row === undefined) throw new Error(`llama-batched-bench printed no result row:\n${output}`);
  const cells = row.split('|').map((cell) => cell.trim()).filter(Boolean).map(Number);
  const [, , batch, , ppSeconds, , tgSeconds, , totalSeconds] = cells as [number, number, number, number, number, number, number, number, number];
  return { wallMs: (totalSeconds * 1000 * count) / batch, note: `${batch} × (${prompt} + ${answer}) tokens in ${totalSeconds.toFixed(2)} s (prompt ${ppSeconds.toFixed(2)} s, answers ${tgSeconds.toFixed(2)} s), × ${count / batch}` };
}

const results = new Map<string, ModeResult>();
let measuredPrompt = promptTokens;
let measuredAnswer = maxTokens;
// The bare pool also sizes the prompts: it runs first whenever prompts are sent at all.
if (modes.has('bare') || modes.has('engine') || modes.has('managed') || modes.has('embedded')) {
  const bare = await runBarePool();
  measuredPrompt = Math.round(bare.promptTokens);
  measuredAnswer = Math.round(bare.completionTokens);
  if (modes.has('bare')) results.set('bare', bare);
}
if (modes.has('managed')) results.set('managed', await runBatch('managed'));
if (modes.has('embedded')) results.set('embedded', await runBatch('embedded'));
if (modes.has('engine')) results.set('engine', await runEngine(measuredPrompt, measuredAnswer));
rmSync(dir, { recursive: true, force: true });

const labels: Record<string, string> = {
  engine: '(d) llama-batched-bench (the engine, scaled)',
  bare: '(c) bare node:http pool → llama-server',
  managed: '(a) batch run, managed llama-server',
  embedded: '(b) batch run, embedded server',
};
const engineMs = results.get('engine')?.wallMs;
const llamaMs = results.get('managed')?.wallMs;
console.log(
  `bench/llama-server: ${count} fresh prompts of ~${measuredPrompt} tokens (chat template included), ${maxTokens} answer tokens asked, ${slots} slots × ${ctx} context, ` +
    `generated model ${(modelBytes / 1e6).toFixed(0)} MB, threads ${threads ?? 'each server its own default'}; ${llamaServer}; node ${process.version}, ${os.cpus().length} CPUs`,
);
console.log('| mode | wall s | prompts/s | vs engine | vs managed llama-server | notes |');
console.log('|---|---:|---:|---:|---:|---|');
for (const key of ['engine', 'bare', 'managed', 'embedded']) {
  const result = results.get(key);
  if (result === undefined) continue;
  const ratio = (reference: number | undefined): string => (reference === undefined ? '' : `${(reference / result.wallMs).toFixed(2)}×`);
  console.log(`| ${labels[key]} | ${(result.wallMs / 1000).toFixed(1)} | ${((count * 1000) / result.wallMs).toFixed(2)} | ${ratio(engineMs)} | ${ratio(llamaMs)} | ${result.note} |`);
}
console.log('Targets: managed llama-server ≥ 0.95× the engine; embedded server ≥ 0.9× managed llama-server (issue 23: ≥ 0.8×). (a) and (b) include server start and model load.');
const embeddedMs = results.get('embedded')?.wallMs;
if (embeddedMs !== undefined && llamaMs !== undefined) {
  printTarget({
    target: `embedded server on the engine-parity work (${count} fresh prompts, ${(modelBytes / 1e6).toFixed(0)} MB model, ${slots} slots) vs the real llama-server`,
    batch: `${(embeddedMs / 1000).toFixed(1)} s`,
    peer: `${(llamaMs / 1000).toFixed(1)} s`,
    measured: `${(llamaMs / embeddedMs).toFixed(2)}x`,
    goal: '>= 0.80x',
    met: llamaMs / embeddedMs >= 0.8,
  });
}
