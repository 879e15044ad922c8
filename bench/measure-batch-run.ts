/**
 * Runs `batch run` as a user types it, in its own process, against a simulated server started in
 * this process (so that the time of the first request is seen where it arrives), and reports
 * when the first request arrived, the process's peak RSS and its RSS at chosen request counts.
 * Shared by bench/first-request.ts and bench/memory-soak.ts.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../test/helpers/sim-process.js';
import { startSimServer } from '../test/sim/sim-server.js';

export interface BatchRunMeasure {
  /** From the spawn to the first completion request the server received. */
  readonly firstRequestMs: number;
  readonly wallMs: number;
  /** Peak resident set of the batch process, all its threads (its VmHWM at exit). */
  readonly peakRssMb: number;
  /** RSS (VmRSS) of the batch process when the server had received each count in `sampleAt`. */
  readonly samples: ReadonlyArray<{ readonly requests: number; readonly rssMb: number }>;
}

/** Writes `count` prompts in OpenAI Batch format (chat completions), as a new user's file. */
export function writeOpenAiBatchFile(file: string, count: number): void {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    lines.push(JSON.stringify({ custom_id: `request-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'sim', messages: [{ role: 'user', content: `Question number ${i}: what is ${i} plus ${i}?` }], max_tokens: 16 } }));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** VmRSS of a live process, in MB; undefined once it is gone. */
function rssOf(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export async function measureBatchRun(options: {
  readonly input: string;
  readonly dir: string;
  readonly slots: number;
  readonly sampleEvery?: number;
  /** Another build of the bin to measure (an earlier commit's, for a before/after). @default this repository's bin/batch.js */
  readonly bin?: string;
  /** Start `node ...nodeFlags bin` instead of the bin itself, e.g. `--max-semi-space-size=8` (to compare heap settings). @default none: the bin as a user runs it */
  readonly nodeFlags?: readonly string[];
  /** Leave `--server-type` out, so that batch asks the server what it is, as a user's plain `--server URL` does. @default false */
  readonly detectServer?: boolean;
}): Promise<BatchRunMeasure> {
  const { input, dir, slots, sampleEvery } = options;
  const bin = options.bin ?? path.join(repoRoot, 'bin/batch.js');
  // The batch process's own high-water mark (VmHWM, kB), written as it exits: no sampling gap at
  // the peak. Not getrusage's maxRSS: Linux carries that across exec from the forked parent, so it
  // would report this bench process's size (with its 100,000-prompt file and server) when larger.
  const preload = path.join(dir, 'max-rss.cjs');
  const rssFile = path.join(dir, `max-rss-${process.hrtime.bigint()}.txt`);
  writeFileSync(
    preload,
    `if (require('node:worker_threads').isMainThread) process.on('exit', () => { const fs = require('node:fs'); fs.writeFileSync(process.env.BENCH_MAX_RSS_FILE, /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]); });\n`,
  );
  let pid = 0;
  let first: number | undefined;
  const samples: Array<{ requests: number; rssMb: number }> = [];
  const sim = await startSimServer({
    flavour: 'llama-server',
    models: ['sim'],
    slots,
    serviceMs: 0,
    script: (n) => {
      first ??= performance.now();
      if (sampleEvery !== undefined && n % sampleEvery === 0) {
        const rssMb = rssOf(pid);
        if (rssMb !== undefined) samples.push({ requests: n, rssMb });
      }
      return undefined;
    },
  });
  try {
    const home = path.join(dir, `home-${process.hrtime.bigint()}`);
    const started = performance.now();
    const code = await new Promise<number | null>((resolve, reject) => {
      const args = ['run', input, '--server', sim.url, ...(options.detectServer === true ? [] : ['--server-type', 'llama-server']), '--workers', String(slots), '--quiet', '--json'];
      const env = { ...process.env, BATCH_HOME: home, BENCH_MAX_RSS_FILE: rssFile };
      // As a user's shell runs it (the bin itself: its /bin/sh line starts node with the heap
      // settings), unless flags of node's are given to compare.
      const child =
        options.nodeFlags === undefined || options.nodeFlags.length === 0
          ? spawn(bin, args, { cwd: dir, env: { ...env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}` }, stdio: ['ignore', 'ignore', 'inherit'] })
          : spawn(process.execPath, [...options.nodeFlags, '-r', preload, bin, ...args], { cwd: dir, env, stdio: ['ignore', 'ignore', 'inherit'] });
      pid = child.pid ?? 0;
      child.on('error', reject);
      child.on('exit', (exitCode) => resolve(exitCode));
    });
    const wallMs = performance.now() - started;
    if (code !== 0) throw new Error(`batch run exited ${code}`);
    if (first === undefined) throw new Error('the server received no request');
    return { firstRequestMs: first - started, wallMs, peakRssMb: Number(readFileSync(rssFile, 'utf8')) / 1024, samples };
  } finally {
    await sim.close();
  }
}
