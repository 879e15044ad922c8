import type { ServerResponse } from 'node:http';
import type { JsonAnswerer } from './json-answers.js';
import type { ModelResidency } from './model-residency.js';
import type { ResolvedSimOptions } from './sim-options.js';
import type { SimStatsRecorder } from './sim-stats.js';
import type { SlotQueue } from './slot-queue.js';

/** The state one simulated server shares between its routes. */
export interface SimContext {
  readonly options: ResolvedSimOptions;
  readonly stats: SimStatsRecorder;
  readonly queue: SlotQueue;
  readonly residency: ModelResidency;
  /** Answers requests that ask for JSON (and breaks some, by `invalidJson`). */
  readonly jsonAnswers: JsonAnswerer;
  /** `performance.now()` before which llama-server and openai flavours answer 503 "Loading model". */
  readonly readyAt: number;
  /** Seconds since the epoch at start, for `created` fields. */
  readonly startedAtSeconds: number;
}

export function isLoading(context: SimContext): boolean {
  return context.options.flavour !== 'ollama' && context.options.loadMs > 0 && performance.now() < context.readyAt;
}

/** llama-server's "still loading" answer, for `/health` and every other endpoint. */
export const loadingBody = '{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}';

export function sendJson(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  res.writeHead(status, headers === undefined ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', ...headers });
  res.end(body);
}
