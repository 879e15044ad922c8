/**
 * Why persistent servers: 50 prompts on a ~85 MB generated model, answered (a) by spawning one
 * embedded llama.cpp server process per prompt (load, answer, exit: what a shell loop around a
 * one-shot CLI does) and (b) by `batch run` with one persistent managed server, once with one
 * slot (one prompt at a time, like the loop) and once with its default 4 slots. Every start-up is
 * included; the threads are the same. Prints the speedups over (a).
 * Usage: npm run bench:servers [-- --prompts 50 --threads N (default: physical cores - 1, as batch uses)]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeTinyLlamaGguf } from '../src/models/gguf-writer.js';
import { countPhysicalCores } from '../src/hardware/physical-cores.js';
import { repoRoot } from '../test/helpers/sim-process.js';

const { values } = parseArgs({ options: { prompts: { type: 'string', default: '50' }, threads: { type: 'string', default: String(Math.max(1, countPhysicalCores() - 1)) }, 'max-tokens': { type: 'string', default: '8' } } });
const count = Number(values.prompts);
const threads = values.threads!;
const maxTokens = Number(values['max-tokens']);
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bench-servers-'));
const model = path.join(dir, 'bench-85mb.gguf');
const { bytes } = await writeTinyLlamaGguf(model, { embeddingLength: 512, blockCount: 8, feedForwardLength: 1024, headCount: 8 });
const prompts = Array.from({ length: count }, (_, i) => `Summarise item ${i} of the inventory in one line.`);

/** (a) One server process per prompt: spawn, wait for ready, one request, stop. */
async function oneProcessPerPrompt(): Promise<number> {
  const started = performance.now();
  for (const prompt of prompts) {
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist/embedded/embedded-server-main.js'), '--model', model, '--threads', threads, '--parallel', '1', '--port', '0'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      let listening: string | undefined;
      child.stdout!.on('data', (c: Buffer) => {
        buffered += c.toString();
        for (const line of buffered.split('\n').slice(0, -1)) {
          const event = JSON.parse(line) as { event: string; url?: string };
          if (event.event === 'listening') listening = event.url;
          if (event.event === 'ready' && listening) resolve(listening);
        }
        buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
      });
      child.once('exit', (code) => reject(new Error(`embedded server exited ${code}`)));
    });
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, temperature: 0 }) });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    await res.json();
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
  return performance.now() - started;
}

/** (b) `batch run` with one persistent managed server, `slots` sequences at once. */
async function persistentServer(slots: number): Promise<number> {
  const input = path.join(dir, `prompts-${slots}.jsonl`);
  writeFileSync(input, prompts.map((p, i) => JSON.stringify({ id: `p${i}`, prompt: p, max_tokens: maxTokens, temperature: 0 })).join('\n') + '\n');
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/batch.js'), 'run', input, '--model', model, '--slots', String(slots), '--threads', threads, '--quiet'], {
      env: { ...process.env, BATCH_HOME: path.join(dir, `home-${slots}`), BATCH_OFFLINE: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`batch run exited ${code}`))));
  });
  return performance.now() - started;
}

const sequentialMs = await persistentServer(1);
const parallelMs = await persistentServer(4);
const perPromptMs = await oneProcessPerPrompt();
rmSync(dir, { recursive: true, force: true });
const row = (name: string, ms: number): string =>
  `| ${name.padEnd(42)} | ${(ms / 1000).toFixed(1).padStart(6)} | ${(ms / 1000 / count).toFixed(2).padStart(8)} | ${`${(perPromptMs / ms).toFixed(1)}x`.padStart(7)} |`;
console.log(`bench/servers: ${count} prompts, max_tokens ${maxTokens}, generated model ${(bytes / 1e6).toFixed(0)} MB (E=512, 8 blocks), ${threads} thread(s), CPU; node ${process.version}, ${os.cpus().length} CPUs`);
console.log(`| ${'strategy'.padEnd(42)} | wall s | s/prompt | speedup |`);
console.log(`|${'-'.repeat(44)}|--------|----------|---------|`);
console.log(row('one server process per prompt (shell loop)', perPromptMs));
console.log(row('batch run, persistent server, 1 slot', sequentialMs));
console.log(row('batch run, persistent server, 4 slots', parallelMs));
