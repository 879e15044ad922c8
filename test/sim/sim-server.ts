import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompletionHandler, completionRoutes } from './completion-handler.js';
import { answerInfo } from './info-routes.js';
import { JsonAnswerer } from './json-answers.js';
import { ModelResidency } from './model-residency.js';
import { openAiError } from './openai-answers.js';
import { sendJson, type SimContext } from './sim-context.js';
import { resolveSimOptions, type SimServerOptions } from './sim-options.js';
import { SimStatsRecorder, type SimStats } from './sim-stats.js';
import { SlotQueue } from './slot-queue.js';

export { simAnswer } from './sim-answer.js';
export type { SimFault, SimFaults, SimFlavour, SimRequest, SimServerOptions } from './sim-options.js';
export type { SimStats } from './sim-stats.js';

/** A running simulated model server. */
export interface SimServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
  /** A snapshot of the counters (a plain object, safe to keep). */
  stats(): SimStats;
  /** Zeroes the counters and restarts the request numbering that `script` sees. */
  resetStats(): void;
  /** Stops listening, destroys open sockets (hung requests included) and resolves once closed. */
  close(): Promise<void>;
  /** Dies abruptly: every socket is destroyed mid-answer and the port stops listening. */
  crash(): void;
}

/** Paths that need no API key, as on the real servers (health checks run before keys are known). */
const publicPaths = new Set(['/health', '/v1/health', '/']);

function notFound(flavour: SimContext['options']['flavour'], method: string, path: string, res: ServerResponse): void {
  if (flavour === 'ollama') {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 page not found');
  } else if (flavour === 'llama-server') {
    sendJson(res, 404, '{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}');
  } else {
    sendJson(res, 404, openAiError(`Unknown request URL: ${method} ${path}`, 'invalid_request_error', 'unknown_url'));
  }
}

/**
 * Starts an HTTP server on 127.0.0.1 that imitates llama-server, Ollama or an OpenAI-compatible
 * server: slots with a FIFO queue, scripted latency, load time and faults, and answers derived
 * from each prompt (`simAnswer`). Counters are readable in-process and at `GET /__sim/stats`.
 */
export async function startSimServer(options: SimServerOptions = {}): Promise<SimServer> {
  const resolved = resolveSimOptions(options);
  const context: SimContext = {
    options: resolved,
    stats: new SimStatsRecorder(),
    queue: new SlotQueue(resolved.slots),
    residency: new ModelResidency(resolved.loadMs),
    jsonAnswers: new JsonAnswerer(resolved.invalidJsonOnceRate, resolved.invalidJsonAlwaysRate),
    readyAt: performance.now() + resolved.loadMs,
    startedAtSeconds: Math.floor(Date.now() / 1000),
  };
  const { stats } = context;
  const completions = new CompletionHandler(context);
  const routes = completionRoutes(resolved.flavour);
  const expectedAuthorization = resolved.apiKey === undefined ? undefined : `Bearer ${resolved.apiKey}`;

  const resetStats = (): void => {
    stats.reset();
    stats.inService(context.queue.inService);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';
    if (path.startsWith('/__sim/')) {
      if (method === 'GET' && path === '/__sim/stats') sendJson(res, 200, JSON.stringify(stats.snapshot()));
      else if (method === 'POST' && path === '/__sim/reset') {
        resetStats();
        sendJson(res, 200, '{"ok":true}');
      } else notFound(resolved.flavour, method, path, res);
      return;
    }
    const authorization = req.headers.authorization;
    if (authorization !== undefined && (expectedAuthorization === undefined || authorization === expectedAuthorization)) {
      stats.authorizationSeen = true;
    }
    if (expectedAuthorization !== undefined && authorization !== expectedAuthorization && !publicPaths.has(path)) {
      sendJson(res, 401, openAiError('Invalid API Key', 'authentication_error', 401));
      return;
    }
    if (method === 'GET' || method === 'HEAD') {
      if (!answerInfo(context, path, res)) notFound(resolved.flavour, method, path, res);
      return;
    }
    const route = method === 'POST' ? routes.get(path) : undefined;
    if (route === undefined) {
      notFound(resolved.flavour, method, path, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      completions.handle(res, path, route, text);
    });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  let closed: Promise<void> | undefined;
  const shutDown = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      context.residency.dispose();
    });
    return closed;
  };

  return {
    url: `http://${host}:${port}`,
    port,
    stats: () => stats.snapshot(),
    resetStats,
    close: shutDown,
    crash: () => void shutDown(),
  };
}
