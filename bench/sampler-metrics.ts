/**
 * bench/sampler.ts's pieces for `--metrics-listen` (issue 21): a scraper in its own process, as
 * Prometheus is, and the metrics listener's cost per request taken apart.
 */
import { spawn } from 'node:child_process';
import type { PromptItem } from '../src/prompts/prompt-item.js';
import { RunMetrics } from '../src/reporting/run-metrics.js';
import type { StatusCounts } from '../src/store/store-records.js';

/** A running scraper; `stop` ends it and resolves with the scrapes answered with 200. */
export interface Scraper {
  stop(): Promise<number>;
}

/**
 * GETs `url` every `everyMs` from a child process (Prometheus scrapes from outside the run), the
 * first at once. Each answered scrape is one line on the child's standard output.
 */
export function startScraper(url: string, everyMs: number): Scraper {
  const script = `
    const scrape = () => fetch(${JSON.stringify(url)}).then(async (r) => { await r.text(); if (r.status === 200) process.stdout.write('ok\\n'); }, () => {});
    scrape();
    setInterval(scrape, ${everyMs});
    process.stdin.on('end', () => process.exit(0));
    process.stdin.resume();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let scrapes = 0;
  child.stdout.on('data', (chunk: Buffer) => (scrapes += chunk.toString().split('\n').length - 1));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    async stop(): Promise<number> {
      child.stdin.end();
      await exited;
      return scrapes;
    },
  };
}

/**
 * The CPU the metrics listener takes per request, best of 3 rounds of `calls` requests (start,
 * end, outcome with latency and tokens), as the scheduler reports them: steadier than whole runs
 * on a busy machine.
 */
export function metricsEventsUsPerRequest(item: PromptItem, serverUrl: string, calls = 300_000): number {
  const metrics = new RunMetrics({ job: 'bench', counts: () => ({ pending: 0, running: 0, done: 0, failed: 0, total: 0 }), memoryLimitBytes: 1 });
  const listener = metrics.listener;
  const outcome = { customId: item.customId, status: 'done' as const, attempts: 1, latencyMs: 6, promptTokens: 3, completionTokens: 16, finishedAt: Date.now() };
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < calls; i++) {
      listener.onRequestStart?.(item, serverUrl, 1);
      listener.onRequestEnd?.(item, serverUrl);
      listener.onOutcome?.(outcome);
    }
    const cpu = process.cpuUsage(before);
    best = Math.min(best, (cpu.user + cpu.system) / calls);
  }
  return best;
}

/**
 * The CPU one scrape takes in the run's process (the job's prompts counted in its database, the
 * exposition built), best of `scrapes`, in milliseconds. The HTTP exchange is not in it.
 */
export async function scrapeCpuMs(counts: () => StatusCounts, scrapes = 50): Promise<number> {
  const metrics = new RunMetrics({ job: 'bench', counts, memoryLimitBytes: 1 });
  let best = Infinity;
  for (let i = 0; i < scrapes; i++) {
    const before = process.cpuUsage();
    await metrics.exposition();
    const cpu = process.cpuUsage(before);
    best = Math.min(best, (cpu.user + cpu.system) / 1000);
  }
  return best;
}
