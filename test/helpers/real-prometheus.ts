import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/servers/free-port.js';

/**
 * Debian's `prometheus` package's binary (`prometheus` or `promtool`), or undefined when it is not
 * installed (`.ci/run` installs it).
 */
export function findPrometheusBinary(name: 'prometheus' | 'promtool'): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    return found === '' ? undefined : found;
  } catch {
    return undefined;
  }
}

/** One series of an instant query's answer. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
  /** When the value was evaluated, in seconds since the epoch. */
  readonly atSeconds: number;
}

/** One active alert as `/api/v1/alerts` lists it. */
export interface PromAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing';
}

/** A Prometheus server of the test's own. */
export interface PrivatePrometheus {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** An instant query through the HTTP API. */
  query(promql: string): Promise<PromSample[]>;
  /** The alerts pending or firing now. */
  alerts(): Promise<PromAlert[]>;
  /** The end of its log, to explain a failure. */
  logTail(): string;
  /** SIGTERM, then SIGKILL after 5 s; removes its folder. */
  stop(): Promise<void>;
}

export interface PrivatePrometheusOptions {
  /** `scrape_configs` and the rest, as YAML, without `global` and `rule_files` (added here). */
  readonly scrapeConfigs: string;
  /** The rules file's text. */
  readonly rules: string;
  /** Seconds between scrapes and between rule evaluations. @default 1 */
  readonly intervalSeconds?: number;
}

/**
 * Starts `prometheus` on 127.0.0.1 with its own free port, configuration and storage in a temporary
 * folder, and waits (bounded) until it is ready. A system Prometheus, if any, is untouched.
 */
export async function startPrivatePrometheus(binary: string, options: PrivatePrometheusOptions): Promise<PrivatePrometheus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-prometheus-'));
  const interval = `${options.intervalSeconds ?? 1}s`;
  writeFileSync(path.join(dir, 'rules.yml'), options.rules);
  writeFileSync(path.join(dir, 'prometheus.yml'), `global:\n  scrape_interval: ${interval}\n  evaluation_interval: ${interval}\nrule_files:\n  - rules.yml\n${options.scrapeConfigs}`);
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const log = path.join(dir, 'prometheus.log');
  const logFd = openSync(log, 'a');
  const child = spawn(binary, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { cwd: dir, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logTail = (): string => readFileSync(log, 'utf8').split('\n').slice(-15).join('\n');
  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const response = await fetch(`${url}${pathAndQuery}`, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${body.error ?? response.status}`);
    return body.data;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ready) break;
    if (i >= 300 || child.exitCode !== null) {
      const tail = logTail();
      await stop();
      throw new Error(`prometheus did not become ready at ${url} within 30 s:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    query: async (promql) => {
      const data = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(promql)}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]), atSeconds: r.value[0] }));
    },
    alerts: async () => (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts,
    logTail,
    stop,
  };
}
