import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DaemonListener } from '../daemon/daemon-listener.js';
import type { DaemonStatus } from '../daemon/daemon-status.js';
import { parseMetricsAddress, startMetricsEndpoint, type MetricsEndpoint } from './metrics-endpoint.js';
import { registerProcessMetrics } from './run-metrics.js';

const durationBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * The daemon's Prometheus metrics (`batch up --metrics-listen`): requests it forwarded by model
 * and outcome, their duration, requests refused before a model server (401, 404, 503 while
 * loading), and at each scrape what `batch ps` shows: models loaded, slots busy, requests
 * waiting, runs attached, loads and each model server's memory, and the daemon process's own CPU and memory.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly listener: DaemonListener;
  /** What `batch ps` says, read once per scrape: every gauge's `collect` reads this one. */
  #current: DaemonStatus | undefined;

  constructor() {
    const registry = this.registry;
    const requests = new Counter({ name: 'batch_daemon_requests_total', help: 'Requests the daemon forwarded to a model server, by model and outcome (the HTTP status, or client-gone, server-failed)', labelNames: ['model', 'outcome'], registers: [registry] });
    const duration = new Histogram({ name: 'batch_daemon_request_duration_seconds', help: 'Time a forwarded request spent on its model server, by model', labelNames: ['model'], buckets: durationBuckets, registers: [registry] });
    const refused = new Counter({ name: 'batch_daemon_refused_total', help: 'Requests answered before reaching a model server, by HTTP status (401 no key, 404, 503 loading)', labelNames: ['status'], registers: [registry] });
    const unloads = new Counter({ name: 'batch_daemon_model_unloads_total', help: 'Model servers the daemon stopped, by model and reason', labelNames: ['model', 'reason'], registers: [registry] });
    this.listener = {
      onRequest: (model, outcome, durationMs) => {
        requests.inc({ model, outcome });
        duration.observe({ model }, durationMs / 1000);
      },
      onRefused: (status) => refused.inc({ status: String(status) }),
      onUnload: (model, reason) => unloads.inc({ model, reason }),
    };
    const status = (): DaemonStatus | undefined => this.#current;
    const perModel = (name: string, help: string, value: (m: DaemonStatus['models'][number]) => number | undefined): void => {
      new Gauge({
        name, help, labelNames: ['model'], registers: [registry],
        collect() {
          this.reset();
          for (const model of status()?.models ?? []) {
            const v = value(model);
            if (v !== undefined) this.set({ model: model.model }, v);
          }
        },
      });
    };
    new Gauge({ name: 'batch_daemon_models_loaded', help: 'Model servers running (ready or loading)', registers: [registry], collect() { this.set(status()?.models.length ?? 0); } });
    new Gauge({ name: 'batch_daemon_runs_attached', help: 'Clients of the daemon now (runs, and other clients as one)', registers: [registry], collect() { this.set(status()?.runs.length ?? 0); } });
    perModel('batch_daemon_slots_busy', 'Requests on a model server now, by model', (m) => m.slotsBusy);
    perModel('batch_daemon_slots', 'Slots of a model server, by model', (m) => m.slots);
    perModel('batch_daemon_requests_waiting', 'Requests waiting for a slot of a model, by model', (m) => m.waiting);
    perModel('batch_daemon_model_resident_memory_bytes', 'Resident memory of a model server (RSS), by model', (m) => m.rssBytes);
    perModel('batch_daemon_model_gpu_memory_bytes', 'GPU memory a model server uses (nvidia-smi), by model', (m) => m.vramBytes);
    new Counter({
      name: 'batch_daemon_model_loads_total', help: 'Model server starts since the daemon started, by model', labelNames: ['model'], registers: [registry],
      collect() {
        this.reset();
        for (const model of status()?.history ?? []) if (model.loads > 0) this.inc({ model: model.model }, model.loads);
      },
    });
    registerProcessMetrics(registry);
  }

  /** Serves the metrics at `listen` (`--metrics-listen`), `status` read at each scrape. */
  async serve(listen: string, status: () => DaemonStatus, log: (line: string) => void): Promise<MetricsEndpoint> {
    const endpoint = await startMetricsEndpoint(
      parseMetricsAddress(listen),
      async () => {
        this.#current = status();
        return { contentType: this.registry.contentType, body: await this.registry.metrics() };
      },
      log,
    );
    log(`Prometheus metrics of the daemon at ${endpoint.url}`);
    return endpoint;
  }
}
