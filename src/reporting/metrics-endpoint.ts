import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../errors.js';
import { isLoopbackHost } from '../backends/is-loopback.js';

/** Where `--metrics-listen` serves, as parsed from `host:port`. */
export interface MetricsAddress {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
}

/**
 * `--metrics-listen`'s text: `host:port`, `:port` (loopback), or `[::1]:port`. Refused with the
 * form expected otherwise.
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = match === null ? Number.NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port > 65_535) {
    throw new UsageError(`expected \`--metrics-listen\` to be HOST:PORT (such as 127.0.0.1:9464, or :9464 for loopback), got "${text}"`);
  }
  const host = match[1] ?? (match[2] === '' ? '127.0.0.1' : match[2]!);
  return { host, port };
}

/** A listening metrics endpoint. */
export interface MetricsEndpoint {
  /** `http://host:port/metrics`, with the port bound. */
  readonly url: string;
  close(): Promise<void>;
}

/** What the endpoint serves at `/metrics`. */
export type MetricsSource = () => Promise<{ readonly contentType: string; readonly body: string }>;

/**
 * Serves `metrics` at `/metrics` (GET and HEAD) on `address`; every other path answers 404. A host
 * other than loopback is served, with a warning through `notice`: Prometheus elsewhere must reach it,
 * and the metrics name the job, its models and servers (never a key or a prompt).
 */
export async function startMetricsEndpoint(address: MetricsAddress, metrics: MetricsSource, notice?: (line: string) => void): Promise<MetricsEndpoint> {
  if (!isLoopbackHost(address.host)) {
    notice?.(`--metrics-listen ${address.host}:${address.port} is reachable from other machines: the metrics name the job, its models and servers; listen on 127.0.0.1 unless Prometheus runs elsewhere`);
  }
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain' }).end(path === '/metrics' ? 'GET /metrics\n' : 'not found: batch serves /metrics\n');
      return;
    }
    metrics().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${(error as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UsageError(`--metrics-listen ${address.host}:${address.port}: cannot listen (${error.code ?? error.message}); choose another port, or :0 for any free one`, error)),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${bound.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
