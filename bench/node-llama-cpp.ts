/**
 * node-llama-cpp alone, no HTTP, no `batch`: the embedded engine's work without the server around
 * it, to tell what the binding costs from what `batch` costs. S sequences of one context each take
 * prompts of P tokens from a shared queue and generate T tokens, as the embedded server's slots do
 * (a cleared sequence per prompt, `sequence.evaluate`, greedy). Prints tokens/s per variant and
 * thread count, the binary it loaded (prebuilt or local build) and how many decode batches ran.
 * Usage: node .build/bench/node-llama-cpp.js [--module DIR (a node-llama-cpp package; default: this
 *        project's)] [--prompts 40 --prompt-tokens 200 --max-tokens 15 --sequences 4 --threads 1,2
 *        --variants evaluate,batch2048,gather,flash,fifo,completion,prompt-only --model FILE]
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { LlamaContextOptions, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { writeTinyLlamaGguf } from '../src/models/gguf-writer.js';
import { createSeededRandom } from '../src/models/seeded-random.js';

type NodeLlamaCpp = typeof import('node-llama-cpp');

const { values } = parseArgs({
  options: {
    module: { type: 'string' },
    prompts: { type: 'string', default: '40' },
    'prompt-tokens': { type: 'string', default: '200' },
    'max-tokens': { type: 'string', default: '15' },
    sequences: { type: 'string', default: '4' },
    threads: { type: 'string', default: '1,2' },
    variants: { type: 'string', default: 'evaluate' },
    model: { type: 'string' },
  },
});
const count = Number(values.prompts);
const promptTokens = Number(values['prompt-tokens']);
const maxTokens = Number(values['max-tokens']);
const sequences = Number(values.sequences);

/** The model of `bench/llama-server.ts` (E=512, 8 blocks, FF=1536, 110 MB), written once per machine. */
async function benchModel(): Promise<string> {
  if (values.model !== undefined) return values.model;
  const file = path.join(os.tmpdir(), 'batch-bench-node-llama-cpp', 'bench-100mb.gguf');
  mkdirSync(path.dirname(file), { recursive: true });
  if (!existsSync(file)) await writeTinyLlamaGguf(file, { embeddingLength: 512, blockCount: 8, feedForwardLength: 1536, headCount: 8, contextLength: 8192 });
  return file;
}

async function loadModule(): Promise<NodeLlamaCpp> {
  if (values.module === undefined) return import('node-llama-cpp');
  const pkg = JSON.parse(readFileSync(path.join(values.module, 'package.json'), 'utf8')) as { exports: { '.': { import: string } } };
  return (await import(pathToFileURL(path.join(values.module, pkg.exports['.'].import)).href)) as NodeLlamaCpp;
}

/** `count` prompts of exactly `promptTokens` tokens, each starting with its own number (no two alike). */
function makePrompts(model: LlamaModel): Token[][] {
  const words = ['the', 'a', 'and', 'of', 'to', 'is', 'in', 'it', 'hello', 'world', 'yes', 'no'];
  const random = createSeededRandom(Date.now() % 1_000_000);
  return Array.from({ length: count }, (_, i) => {
    const text = `${i} ${Array.from({ length: promptTokens }, () => words[Math.floor(random() * words.length)]).join(' ')}`;
    return model.tokenize(text).slice(0, promptTokens);
  });
}

interface Variant {
  readonly context: Partial<LlamaContextOptions>;
  readonly completion?: boolean;
  /** Evaluate the prompts and generate nothing: the prompt phase's speed alone. */
  readonly promptOnly?: boolean;
}

/**
 * `gather` holds each decode until every busy sequence has queued its token (or 4 event-loop turns
 * passed), so a generation step decodes all sequences at once, as llama-server's loop does.
 */
function variantOf(name: string, queued: () => number, busy: () => number): Variant {
  switch (name) {
    case 'evaluate': return { context: {} };
    case 'batch2048': return { context: { batchSize: 2048 } };
    case 'flash': return { context: { flashAttention: true } };
    case 'fifo': return { context: { batching: { itemPrioritizationStrategy: 'firstInFirstOut' } } };
    case 'completion': return { context: {}, completion: true };
    case 'prompt-only': return { context: {}, promptOnly: true };
    case 'prompt-only-2048': return { context: { batchSize: 2048 }, promptOnly: true };
    case 'gather':
      return {
        context: {
          batching: {
            dispatchSchedule: (dispatch) => {
              let turns = 0;
              const check = (): void => (queued() >= busy() || ++turns >= 4 ? dispatch() : void setImmediate(check));
              setImmediate(check);
            },
          },
        },
      };
    default: throw new Error(`--variants: unknown variant "${name}"; use evaluate, batch2048, flash, fifo, completion, prompt-only or gather`);
  }
}

async function runOne(nlc: NodeLlamaCpp, model: LlamaModel, name: string, threads: number): Promise<string> {
  let busy = 0;
  const holder: { queued: () => number } = { queued: () => 0 };
  const variant = variantOf(name, () => holder.queued(), () => busy);
  const context = await model.createContext({ sequences, contextSize: sequences * 512, threads, ...variant.context });
  // Internals, read only here: how many decodes wait for the next batch, and how many batches ran.
  const internals = context as unknown as { _queuedDecodes: unknown[]; _ctx: object };
  holder.queued = () => internals._queuedDecodes.length;
  let decodes = 0;
  const native = internals._ctx as Record<string | symbol, unknown>;
  internals._ctx = new Proxy(native, {
    get: (target, key) => {
      if (key === 'decodeBatch') decodes++;
      const value = target[key];
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const prompts = makePrompts(model);
  let next = 0;
  let generated = 0;
  const worker = async (sequence: LlamaContextSequence): Promise<void> => {
    while (next < prompts.length) {
      const tokens = prompts[next++]!;
      await sequence.clearHistory();
      busy++;
      if (variant.promptOnly === true) {
        await sequence.evaluateWithoutGeneratingNewTokens(tokens);
      } else if (variant.completion === true) {
        const completion = new nlc.LlamaCompletion({ contextSequence: sequence });
        await completion.generateCompletion(tokens, { maxTokens, temperature: 0, onToken: (chunk) => (generated += chunk.length) });
        completion.dispose({ disposeSequence: false });
      } else {
        let taken = 0;
        for await (const token of sequence.evaluate(tokens, { temperature: 0 })) {
          if (model.isEogToken(token) || ++taken >= maxTokens) break;
        }
        generated += taken;
      }
      busy--;
    }
  };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: sequences }, () => worker(context.getSequence())));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  await context.dispose();
  const tokens = count * promptTokens + generated;
  return `| ${name} | ${threads} | ${seconds.toFixed(2)} | ${(count / seconds).toFixed(2)} | ${(tokens / seconds).toFixed(0)} | ${(generated / count).toFixed(1)} | ${cpuSeconds.toFixed(2)} | ${((cpuSeconds * 1e6) / tokens).toFixed(0)} | ${decodes} | ${os.loadavg()[0]!.toFixed(2)} |`;
}

const nlc = await loadModule();
const modelPath = await benchModel();
const llama = await nlc.getLlama({ gpu: false, build: 'never', skipDownload: true, maxThreads: 0, logLevel: nlc.LlamaLogLevel.error, progressLogs: false });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
// What the process really mapped: the addon and the ggml CPU backend (the prebuilt picks one of several by CPU).
const mapped = new Set(readFileSync('/proc/self/maps', 'utf8').split('\n').map((line) => line.split(/\s+/).pop() ?? '').filter((file) => /llama-addon\.node|libggml-cpu/.test(file)));
const addon = [...mapped].join(', ');
console.log(`bench/node-llama-cpp: node-llama-cpp ${await nlc.getModuleVersion()}, ${llama.buildType}, ${addon}; ${count} prompts × ${promptTokens} tokens, ${maxTokens} answer tokens, ${sequences} sequences; node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('| variant | threads | wall s | prompts/s | tokens/s (prompt + answer) | answer tokens/prompt | CPU s (all threads) | CPU µs/token | decode batches | load average (1 min) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const name of values.variants!.split(',')) {
  for (const threads of values.threads!.split(',').map(Number)) console.log(await runOne(nlc, model, name, threads));
}
await model.dispose();
await llama.dispose();
