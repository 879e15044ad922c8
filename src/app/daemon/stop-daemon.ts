import { DaemonClient } from '../../daemon/daemon-client.js';
import { isDaemonAlive, type DaemonRecord } from '../../daemon/daemon-record.js';

export interface StopDaemonOptions {
  /** How long requests in flight may finish before the servers stop. @default 30000 */
  readonly graceMs?: number;
  /** Beyond the grace, how long the daemon may take to stop its servers before it is killed. @default 30000 */
  readonly stopTimeoutMs?: number;
}

/**
 * Stops the daemon of `record` (`batch down`): asks it over HTTP (SIGTERM when it does not
 * answer), waits for its process to end, and kills it when it does not within the grace and
 * `stopTimeoutMs`; its model servers' reapers then stop them. Resolves with how it ended.
 */
export async function stopDaemon(record: DaemonRecord, options: StopDaemonOptions = {}): Promise<'stopped' | 'killed'> {
  const graceMs = options.graceMs ?? 30_000;
  try {
    await new DaemonClient(record).shutdown(graceMs);
  } catch {
    signal(record.pid, 'SIGTERM');
  }
  if (await waitForExit(record, graceMs + (options.stopTimeoutMs ?? 30_000))) return 'stopped';
  signal(record.pid, 'SIGKILL');
  await waitForExit(record, 10_000);
  return 'killed';
}

async function waitForExit(record: DaemonRecord, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!isDaemonAlive({ ...record, stoppedAt: undefined })) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isDaemonAlive({ ...record, stoppedAt: undefined });
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
}
