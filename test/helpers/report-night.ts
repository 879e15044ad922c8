import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jobDbPath } from '../../src/store/job-paths.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { runCliInProcess } from './run-cli-in-process.js';

/** A night in miniature, for `batch report` tests and README's screenshot. */
export interface ReportNight {
  readonly home: string;
  readonly job: string;
  readonly db: string;
  /** The two servers' URLs: the fast one, then the slow one. */
  readonly servers: readonly string[];
  /** Completion requests each server received, and those it answered 200 (fast server first). */
  readonly requests: readonly number[];
  readonly completed: readonly number[];
  readonly runCode: number;
  readonly runStdout: string;
  /** The fake `nvidia-smi`'s answers (one per GPU reading of the sampler); 0 without `fakeGpu`. */
  readonly gpuReadings: number;
}

export interface ReportNightOptions {
  /** Work folder: the prompts and the job database go under it. */
  readonly dir: string;
  /** @default 600 */
  readonly prompts?: number;
  /** Markup in a prompt's model name (it comes back in the failure message): the page must escape it. @default an <img> to a host that does not exist */
  readonly hostileModel?: string;
  /** `--sample-every` of the run, in seconds: short, so that a run of seconds has samples enough for every chart. @default 0.1 */
  readonly sampleEvery?: number;
  /**
   * Put a test stand-in `nvidia-smi` first on the run's PATH, for a machine without a GPU: one
   * "Test stand-in GPU (fake nvidia-smi)" whose utilisation cycles 20, 40, 60, 80 % reading after
   * reading (so under 50 % in half the samples, prompts waiting or not) and whose memory grows.
   * Without it the run reads whatever GPU the machine has, or none. @default false
   */
  readonly fakeGpu?: boolean;
}

/** The name of the model a hostile prompt names, unless the test gives its own. */
export const hostileModel = `<img src="http://report-leak.invalid/x.png" onerror="alert(1)">`;

/** The name the fake `nvidia-smi` of `fakeGpu` gives its GPU. */
export const fakeGpuName = 'Test stand-in GPU (fake nvidia-smi)';

/** Each server's service time per request, in ms: the fast one, then one four times slower. */
export const nightServiceMs = [10, 40] as const;

/**
 * A real run against two simulated llama-servers (one four times slower, both answering some 500s;
 * retries off, so some prompts fail), streamed so that time to first token and llama-server
 * timings are recorded; one prompt names a model with markup in it (a failure whose message
 * holds it). Its samples are the run sampler's own, every `sampleEvery` seconds.
 */
export async function runReportNight(options: ReportNightOptions): Promise<ReportNight> {
  const count = options.prompts ?? 600;
  const fast = await startSimServer({ slots: 4, serviceMs: nightServiceMs[0], completionTokens: 24, faults: { error500Rate: 0.02 }, seed: 7 });
  const slow = await startSimServer({ slots: 4, serviceMs: nightServiceMs[1], completionTokens: 24, faults: { error500Rate: 0.02 }, seed: 8 });
  const servers: SimServer[] = [fast, slow];
  try {
    mkdirSync(options.dir, { recursive: true });
    const home = path.join(options.dir, 'home');
    const file = path.join(options.dir, 'night.jsonl');
    const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ id: `n${i}`, prompt: `night prompt ${i}: ${'word '.repeat(i % 40)}`, max_tokens: 24 }));
    lines.push(JSON.stringify({ id: 'hostile', prompt: 'a prompt naming a model that does not exist', model: options.hostileModel ?? hostileModel }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const job = 'night';
    const counter = path.join(options.dir, 'fake-nvidia-smi.count');
    const env: Record<string, string> = { BATCH_HOME: home };
    if (options.fakeGpu === true) env.PATH = `${writeFakeNvidiaSmi(path.join(options.dir, 'fake-gpu-bin'), counter)}${path.delimiter}${process.env.PATH ?? ''}`;
    const args = ['run', file, '--job', job, '--server', fast.url, '--server', slow.url, '--workers', '6', '--retries', '0', '--stream', '--sample-every', String(options.sampleEvery ?? 0.1), '--json'];
    const run = await runCliInProcess(args, { env });
    const stats = servers.map((s) => s.stats());
    return {
      home,
      job,
      db: jobDbPath(home, job),
      servers: servers.map((s) => s.url),
      requests: stats.map((s) => s.requests),
      completed: stats.map((s) => s.completed),
      runCode: run.code,
      runStdout: run.stdout,
      gpuReadings: options.fakeGpu === true ? readCount(counter) : 0,
    };
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

/**
 * Writes the test stand-in `nvidia-smi` into `folder` (returned, for PATH). It answers the CSV the
 * real one gives for `--query-gpu=index,name,utilization.gpu,memory.used,memory.total
 * --format=csv,noheader,nounits`, counting its calls in `counter` (a line each).
 */
function writeFakeNvidiaSmi(folder: string, counter: string): string {
  mkdirSync(folder, { recursive: true });
  writeFileSync(counter, '');
  const script = [
    '#!/bin/sh',
    '# A test stand-in for nvidia-smi (test/helpers/report-night.ts): no GPU is read.',
    // One line appended per call (O_APPEND: two calls at once, as the run's last sample may make, both count).
    `n=$(wc -l < '${counter}')`,
    `echo call >> '${counter}'`,
    `echo "0, ${fakeGpuName}, $((20 + (n % 4) * 20)), $((4096 + n * 16)), 24576"`,
  ].join('\n');
  const bin = path.join(folder, 'nvidia-smi');
  writeFileSync(bin, `${script}\n`);
  chmodSync(bin, 0o755);
  return folder;
}

function readCount(file: string): number {
  return readFileSync(file, 'utf8').split('\n').filter((line) => line === 'call').length;
}
