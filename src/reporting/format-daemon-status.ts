import type { DaemonStatus } from '../daemon/daemon-status.js';
import { formatTable } from '../hardware/format-table.js';
import { formatDuration } from './format-duration.js';

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? '-' : `${Math.round(bytes / 1e6)} MB`;
}

/** `batch ps`: the daemon, each model it runs, each run attached to it. */
export function formatDaemonStatus(status: DaemonStatus, now: number): string {
  const head = [
    `batch daemon pid ${status.pid} at ${status.url}, up ${formatDuration(now - status.startedAt)}`,
    `  ${status.engine}; ${status.slots} slot(s) × ${status.contextSize} tokens per model; at most ${status.maxModels} model(s) loaded; idle models unload after ${formatDuration(status.idleMs)}${status.exitWhenIdle ? ', then the daemon exits' : ''}`,
  ];
  const models =
    status.models.length === 0
      ? '\nno model loaded (a run, or a request naming a model, loads it)'
      : `\n${formatTable(
          ['model', 'state', 'pid', 'slots busy', 'waiting', 'served', 'loads', 'idle', 'unloads in', 'RAM (RSS)', 'VRAM'],
          status.models.map((m) => [
            m.model,
            m.state === 'ready' && m.held ? 'ready, held by a run' : m.state,
            m.pid === undefined ? '-' : String(m.pid),
            `${m.slotsBusy}/${m.slots}`,
            String(m.waiting),
            String(m.requestsServed),
            String(m.loads),
            m.slotsBusy > 0 ? 'busy' : formatDuration(m.idleMs),
            m.unloadInMs === undefined ? '-' : formatDuration(m.unloadInMs),
            megabytes(m.rssBytes),
            megabytes(m.vramBytes),
          ]),
        )}`;
  const runs =
    status.runs.length === 0
      ? '\nno run attached'
      : `\n${formatTable(
          ['run pid', 'job', 'in flight', 'waiting', 'requests', 'model', 'last request'],
          status.runs.map((r) => [
            r.pid === undefined ? 'other' : String(r.pid),
            r.job ?? '-',
            String(r.inFlight),
            String(r.waiting),
            String(r.requests),
            r.model ?? '-',
            `${formatDuration(Math.max(0, now - r.lastSeenAt))} ago`,
          ]),
        )}`;
  return `${head.join('\n')}\n${models}\n${runs}\n`;
}
