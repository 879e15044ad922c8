import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../src/daemon/daemon-status.js';
import { DaemonMetrics } from '../../src/reporting/daemon-metrics.js';
import { findPrometheusBinary } from '../helpers/real-prometheus.js';

const promtool = findPrometheusBinary('promtool');

const status: DaemonStatus = {
  pid: 1, url: 'http://127.0.0.1:1', startedAt: 0, engine: 'llama-server', slots: 4, contextSize: 2048, maxModels: 2, idleMs: 1_800_000, exitWhenIdle: false,
  models: [{ model: 'tiny', path: '/m/tiny.gguf', state: 'ready', pid: 2, slotsBusy: 3, slots: 4, waiting: 5, requestsServed: 9, loads: 2, restarts: 0, idleMs: 0, held: true, rssBytes: 1_000_000 }],
  runs: [{ pid: 3, job: 'night', inFlight: 3, waiting: 5, requests: 9, model: 'tiny', lastSeenAt: 0 }],
  history: [{ model: 'tiny', loads: 2, loadMsTotal: 900, restarts: 0, requestsServed: 9 }, { model: 'gone', loads: 1, loadMsTotal: 300, restarts: 0, requestsServed: 4 }],
  available: [],
};

describe('the daemon metrics', () => {
  it('say what batch ps says, and count the requests forwarded and refused', async () => {
    const metrics = new DaemonMetrics();
    metrics.listener.onRequest?.('tiny', '200', 120);
    metrics.listener.onRequest?.('tiny', '200', 80);
    metrics.listener.onRefused?.(503);
    const endpoint = await metrics.serve('127.0.0.1:0', () => status, () => undefined);
    try {
      const text = await (await fetch(endpoint.url)).text();
      expect(text).toContain('batch_daemon_requests_total{model="tiny",outcome="200"} 2');
      expect(text).toContain('batch_daemon_refused_total{status="503"} 1');
      expect(text).toContain('batch_daemon_slots_busy{model="tiny"} 3');
      expect(text).toContain('batch_daemon_requests_waiting{model="tiny"} 5');
      expect(text).toContain('batch_daemon_runs_attached 1');
      // Loads of a model no longer loaded still count: a counter never goes down.
      expect(text).toContain('batch_daemon_model_loads_total{model="gone"} 1');
      expect(text).toContain('batch_daemon_model_resident_memory_bytes{model="tiny"} 1000000');
      expect(text).toMatch(/^process_cpu_seconds_total \d/m);
      if (promtool !== undefined) expect(execFileSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' })).toBe('');
    } finally {
      await endpoint.close();
    }
  });
});
