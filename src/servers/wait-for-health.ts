import { requestLocal } from './request-local.js';
import type { ExitOutcome } from './spawn-reaped.js';

const HEALTH_POLL_TIMEOUT_MS = 2000;
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 500;

export interface WaitForHealthOptions {
  /** `http://127.0.0.1:<port>` of the server being started. */
  readonly url: string;
  /** Settles when the server's process ends. */
  readonly exited: Promise<ExitOutcome>;
  /** The `performance.now()` by which /health must have answered 200. */
  readonly deadline: number;
}

/**
 * Polls `<url>/health`, backing off from 50 ms to 500 ms, until it answers 200 ('ready'), the
 * process ends (how it ended: the caller reads the log to tell a taken port from a crash), or
 * the deadline passes ('timed out').
 */
export async function waitForHealth(options: WaitForHealthOptions): Promise<'ready' | 'timed out' | ExitOutcome> {
  const { url, deadline } = options;
  const exited = options.exited.then((outcome) => ({ exit: outcome }));
  let backoffMs = FIRST_BACKOFF_MS;
  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) return 'timed out';
    const probe = requestLocal(`${url}/health`, { timeoutMs: Math.min(HEALTH_POLL_TIMEOUT_MS, remaining) }).then(
      (res) => ({ status: res.statusCode }),
      () => ({ status: 0 }),
    );
    const first = await Promise.race([exited, probe]);
    if ('exit' in first) return first.exit;
    if (first.status === 200) return 'ready';
    // 503: loading; 0: not listening yet. Both mean wait.
    const waited = await Promise.race([exited, delay(Math.min(backoffMs, Math.max(1, deadline - performance.now())))]);
    if (waited !== undefined) return waited.exit;
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
  }
}

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms));
}
