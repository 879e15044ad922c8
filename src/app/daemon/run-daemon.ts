import type { DaemonListener } from '../../daemon/daemon-listener.js';
import { startDaemon, type StartDaemonContext } from './start-daemon.js';
import type { DaemonSettings } from './daemon-settings.js';
import { defaults } from '../../defaults.js';

export interface RunDaemonSignals {
  /** Stop, letting requests in flight finish (`batch down`'s default grace). */
  readonly softStop: AbortSignal;
  /** Stop at once. */
  readonly hardStop: AbortSignal;
}

/**
 * Runs the daemon until it is stopped (`batch down`, a signal, `--exit-when-idle`): the body of
 * both the detached daemon process and `batch up --foreground`. Resolves with why it stopped.
 * With `--metrics-listen`, Prometheus scrapes it meanwhile.
 */
export async function runDaemon(settings: DaemonSettings, context: StartDaemonContext, signals: RunDaemonSignals): Promise<string> {
  const metrics = settings.metricsListen === undefined ? undefined : await import('../../reporting/daemon-metrics.js');
  const daemonMetrics = metrics === undefined ? undefined : new metrics.DaemonMetrics();
  const listener: DaemonListener | undefined = daemonMetrics?.listener;
  const daemon = await startDaemon(settings, context, listener);
  let endpoint: { close(): Promise<void> } | undefined;
  if (daemonMetrics !== undefined) {
    try {
      endpoint = await daemonMetrics.serve(settings.metricsListen!, () => daemon.server.status(), context.log);
    } catch (error) {
      await daemon.stop(0, `--metrics-listen failed: ${(error as Error).message}`);
      throw error;
    }
  }
  const onSoft = (): void => void daemon.stop(defaults.graceMs, 'asked to stop (SIGTERM or Ctrl-C)');
  const onHard = (): void => void daemon.stop(0, 'asked to stop at once');
  if (signals.softStop.aborted) onSoft();
  if (signals.hardStop.aborted) onHard();
  signals.softStop.addEventListener('abort', onSoft, { once: true });
  signals.hardStop.addEventListener('abort', onHard, { once: true });
  try {
    return await daemon.stopped;
  } finally {
    signals.softStop.removeEventListener('abort', onSoft);
    signals.hardStop.removeEventListener('abort', onHard);
    await endpoint?.close();
  }
}
