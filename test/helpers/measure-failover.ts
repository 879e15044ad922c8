import { createBackend } from '../../src/backends/open-backend.js';
import { runScheduler } from './run-scheduler.js';
import { StaticRouter } from '../../src/app/routing/static-router.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { chatItems, memorySource, MemorySink } from './memory-work.js';

export interface FailoverOptions {
  /** Prompts of the run. @default 400 */
  readonly prompts?: number;
  /** Slots of each of the two simulated llama-servers. @default 4 */
  readonly slots?: number;
  /** Time each request holds its slot. @default 50 */
  readonly serviceMs?: number;
  /** The dying server crashes when its n-th request arrives. @default 40 */
  readonly crashAt?: number;
}

export interface FailoverResult {
  /** From the crash to the answer of the first request re-sent elsewhere. */
  readonly failoverMs: number;
  /** Requests the dying server had taken and not answered when it crashed. */
  readonly inFlightAtCrash: number;
  readonly done: number;
  readonly failed: number;
  /** Requests sent again (the crashed server's in-flight ones, and any sent to it before it was known down). */
  readonly retries: number;
  /** Prompts answered more than once: must be none. */
  readonly duplicates: number;
}

/**
 * Two simulated llama-servers behind one StaticRouter and the real scheduler; one crashes
 * mid-run. Measures how long its in-flight requests take to be answered by the other.
 */
export async function measureFailover(options: FailoverOptions = {}): Promise<FailoverResult> {
  const { prompts = 400, slots = 4, serviceMs = 50, crashAt = 40 } = options;
  let crashedAt: number | undefined;
  let inFlightAtCrash = 0;
  let dying: SimServer | undefined = undefined;
  dying = await startSimServer({
    slots,
    serviceMs,
    script: (n) => {
      if (n === crashAt && crashedAt === undefined) {
        // After this request is in service: it dies with the others.
        setImmediate(() => {
          inFlightAtCrash = dying!.stats().inFlight;
          crashedAt = performance.now();
          dying!.crash();
        });
      }
      return undefined;
    },
  });
  const survivor = await startSimServer({ slots, serviceMs });
  const backends = [dying, survivor].map((sim) => createBackend('llama-server', { url: sim.url }));
  const router = new StaticRouter(await Promise.all(backends.map(async (backend) => ({ backend, info: await backend.describe() }))));
  const sink = new MemorySink();
  let failoverMs: number | undefined;
  try {
    const summary = await runScheduler({
      router,
      source: memorySource(chatItems(prompts, 'f')),
      sink,
      workers: router.capacity ?? 2 * slots,
      listener: {
        onOutcome: (outcome) => {
          if (crashedAt !== undefined && failoverMs === undefined && outcome.status === 'done' && outcome.attempts > 1) failoverMs = performance.now() - crashedAt;
        },
      },
    });
    const ids = sink.outcomes.map((o) => o.customId);
    return {
      failoverMs: failoverMs ?? Number.NaN,
      inFlightAtCrash,
      done: summary.done,
      failed: summary.failed,
      retries: summary.retries,
      duplicates: ids.length - new Set(ids).size,
    };
  } finally {
    await router.close();
    await Promise.all([dying.close(), survivor.close()]);
  }
}
