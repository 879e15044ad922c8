/**
 * bench/sampler.ts's pieces for `--metrics-listen` (issue 21): a scraper in its own process, as
 * Prometheus is, and the metrics listener's cost per request taken apart.
 */
import { spawn } from 'node:child_process';
import type { PromptItem } from '../src/prompts/prompt-item.js';
import { RunMetrics } from '../src/reporting/run-metrics.js';
import type { SchedulerListener } from '../src/scheduler/scheduler-listener.js';
import type { ItemOutcome } from '../src/store/item-outcome.js';
import type { StatusCounts } from '../src/store/store-records.js';

/** A running scraper; `stop` ends it and resolves with the scrapes answered with 200. */
export interface Scraper {
  /** Settles once the first scrape is answered: the scraper's own start (a node process) is over. */
  readonly ready: Promise<void>;
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
  let firstScrape!: () => void;
  const ready = new Promise<void>((resolve) => (firstScrape = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    scrapes += chunk.toString().split('\n').length - 1;
    if (scrapes > 0) firstScrape();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    ready,
    async stop(): Promise<number> {
      child.stdin.end();
      await exited;
      return scrapes;
    },
  };
}

/** A run's listener events, as the scheduler hands them out: what `listenerUsPerRequest` replays. */
export interface RunEvents {
  /** Distinct prompts, each with its own custom_id, spread over several models. */
  readonly items: readonly PromptItem[];
  /** The server each prompt's request goes to. */
  readonly urls: readonly string[];
  /** Each prompt's outcome, a fresh object of the scheduler's shape (`doneOutcome`). */
  readonly outcomes: readonly ItemOutcome[];
}

/**
 * `count` prompts as a run gives them to its listeners: distinct custom_ids, `models` models and
 * `servers` servers in turn, latencies spread over the histogram's buckets. A tight loop over one
 * prompt (the same custom_id, server and model every call) under-states the cost: every lookup
 * hits the same entry and every call site sees one shape.
 */
export function runEvents(count: number, models = 3, servers = 4): RunEvents {
  const items: PromptItem[] = [];
  const urls: string[] = [];
  const outcomes: ItemOutcome[] = [];
  for (let i = 0; i < count; i++) {
    const model = `model-${i % models}`;
    const url = `http://127.0.0.1:${8081 + (i % servers)}`;
    items.push({ customId: `request-${i}`, index: i, source: `prompts.jsonl:${i + 1}`, endpoint: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: `prompt ${i}` }], max_tokens: 16 } });
    urls.push(url);
    outcomes.push({
      customId: `request-${i}`,
      status: 'done',
      attempts: 1,
      response: { statusCode: 200, requestId: `r${i}`, body: {} },
      endpointUrl: url,
      model,
      promptTokens: 9 + (i % 7),
      completionTokens: 16,
      latencyMs: 4 + ((i * 37) % 400),
      ttftMs: undefined,
      modelLoadMs: 0,
      answer: undefined,
      fallback: undefined,
      queueWaitMs: i % 5,
      retryCauses: undefined,
      finishedAt: 1_700_000_000_000 + i,
    });
  }
  return { items, urls, outcomes };
}

/**
 * The CPU `listener` takes per request, best of 3 rounds over `events`: each request's start, end
 * and outcome, with `inFlight` requests on the wire at once as in a run of that many workers.
 */
export function listenerUsPerRequest(listener: SchedulerListener, events: RunEvents, inFlight = 32): number {
  const { items, urls, outcomes } = events;
  const count = items.length;
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < count + inFlight; i++) {
      if (i < count) listener.onRequestStart?.(items[i]!, urls[i]!, 1);
      const ended = i - inFlight;
      if (ended < 0) continue;
      listener.onRequestEnd?.(items[ended]!, urls[ended]!);
      listener.onOutcome?.(outcomes[ended]!);
    }
    const cpu = process.cpuUsage(before);
    best = Math.min(best, (cpu.user + cpu.system) / count);
  }
  return best;
}

/** The CPU the metrics listener takes per request (see `listenerUsPerRequest`). */
export function metricsEventsUsPerRequest(events: RunEvents): number {
  const metrics = new RunMetrics({ job: 'bench', counts: () => ({ pending: 0, running: 0, done: 0, failed: 0, total: 0 }), memoryLimitBytes: 1 });
  return listenerUsPerRequest(metrics.listener, events);
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
