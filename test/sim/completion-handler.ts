import type { ServerResponse } from 'node:http';
import { ollamaError } from './ollama-answers.js';
import { openAiError } from './openai-answers.js';
import { createSeededRandom } from '../../src/models/seeded-random.js';
import { isLoading, loadingBody, sendJson, type SimContext } from './sim-context.js';
import { SimExchange, type CompletionRoute } from './sim-exchange.js';
import type { SimFault, SimFlavour, SimRequest } from './sim-options.js';

const openAiRoutes: ReadonlyArray<[string, CompletionRoute]> = [
  ['/v1/chat/completions', { api: 'openai', kind: 'chat' }],
  ['/v1/completions', { api: 'openai', kind: 'text' }],
];

/** The completion endpoints of a flavour (POST only), by path. */
export function completionRoutes(flavour: SimFlavour): ReadonlyMap<string, CompletionRoute> {
  switch (flavour) {
    case 'llama-server':
      // llama-server also answers the OpenAI paths without the /v1 prefix.
      return new Map([...openAiRoutes, ['/chat/completions', { api: 'openai', kind: 'chat' }], ['/completions', { api: 'openai', kind: 'text' }]]);
    case 'openai':
      return new Map(openAiRoutes);
    case 'ollama':
      return new Map([...openAiRoutes, ['/api/chat', { api: 'ollama', kind: 'chat' }], ['/api/generate', { api: 'ollama', kind: 'generate' }]]);
  }
}

function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  let text = '';
  for (const part of content) {
    if (typeof part === 'object' && part !== null && typeof (part as Record<string, unknown>)['text'] === 'string') text += (part as Record<string, string>)['text'];
  }
  return text;
}

/** The prompt text a chat request is answered from: its last user message. */
function lastUserText(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as Record<string, unknown> | null;
    if (typeof message === 'object' && message !== null && message['role'] === 'user') return textOf(message['content']) ?? '';
  }
  return '';
}

/**
 * Takes a completion request from body to fate: 400 for a bad body, 404 for an unknown model,
 * 503 while loading, then a fault (by script, else drawn from the seeded PRNG) or service.
 */
export class CompletionHandler {
  readonly #context: SimContext;
  readonly #random: () => number;
  readonly #faultRates: number;
  #nextId = 0;
  /** Requests being served under `limitConcurrency` now. */
  #served = 0;
  readonly #startedAt = performance.now();

  constructor(context: SimContext) {
    this.#context = context;
    this.#random = createSeededRandom(context.options.seed);
    const { error500Rate, error429Rate, dropRate, hangRate } = context.options;
    this.#faultRates = error500Rate + error429Rate + dropRate + hangRate;
  }

  handle(res: ServerResponse, path: string, route: CompletionRoute, text: string): void {
    const { options, stats } = this.#context;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      this.#error(res, route, 400, `Expected a JSON request body: ${(error as Error).message}`, 'invalid_request_error', null);
      return;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      this.#error(res, route, 400, `Expected the request body to be a JSON object, got ${Array.isArray(body) ? 'an array' : typeof body}`, 'invalid_request_error', null);
      return;
    }
    const record = body as Record<string, unknown>;
    const promptText = route.kind === 'chat' ? lastUserText(record['messages']) : typeof record['prompt'] === 'string' ? record['prompt'] : undefined;
    if (promptText === undefined) {
      const field = route.kind === 'chat' ? '`messages` to be an array' : '`prompt` to be a string';
      this.#error(res, route, 400, `Expected ${field}`, 'invalid_request_error', null);
      return;
    }
    const requested = typeof record['model'] === 'string' && record['model'] !== '' ? record['model'] : options.models[0]!;
    const model = this.#findModel(requested);
    const n = stats.receive(promptText, model ?? requested);
    if (options.recordArrivals) stats.arrivalsMs.push(performance.now() - this.#startedAt);
    if (record['keep_alive'] !== undefined) stats.keepAlives.add(String(record['keep_alive']));
    if (model === undefined) {
      if (route.api === 'ollama') sendJson(res, 404, ollamaError(`model "${requested}" not found, try pulling it first`));
      else sendJson(res, 404, openAiError(`The model \`${requested}\` does not exist`, 'invalid_request_error', 'model_not_found'));
      return;
    }
    if (isLoading(this.#context)) {
      sendJson(res, 503, loadingBody);
      return;
    }
    const stream = route.api === 'ollama' ? record['stream'] !== false : record['stream'] === true;
    const request: SimRequest = { path, model, promptText, stream, body: record };
    const limit = options.limitConcurrency;
    if (limit !== undefined) {
      if (this.#served >= limit.max) {
        stats.overLimit++;
        this.#error(res, route, 429, `Concurrency limit of ${limit.max} reached (simulated)`, 'rate_limit_error', 'rate_limit_exceeded');
        return;
      }
      stats.servedTimeline.push([performance.now() - this.#startedAt, ++this.#served]);
      res.once('close', () => stats.servedTimeline.push([performance.now() - this.#startedAt, --this.#served]));
    }
    const fault = options.script?.(n, request) ?? this.#draw();
    if (fault === 'ok' || fault === 'hang') {
      if (fault === 'hang') stats.hang++;
      new SimExchange(this.#context, res, route, request, String(++this.#nextId), fault === 'hang').begin();
      return;
    }
    stats.open();
    res.once('close', () => stats.inFlight--);
    if (fault === 'drop') {
      stats.drop++;
      res.socket?.destroy();
    } else if (fault === '429') {
      stats.error429++;
      this.#error(res, route, 429, 'Rate limit reached (simulated)', 'rate_limit_error', 'rate_limit_exceeded', {
        'retry-after': String(options.retryAfterSeconds),
      });
    } else {
      stats.error500++;
      this.#error(res, route, 500, 'Internal server error (simulated)', 'server_error', null);
    }
  }

  #draw(): SimFault {
    if (this.#faultRates === 0) return 'ok';
    const { error500Rate, error429Rate, dropRate, hangRate } = this.#context.options;
    let draw = this.#random();
    if ((draw -= error500Rate) < 0) return '500';
    if ((draw -= error429Rate) < 0) return '429';
    if ((draw -= dropRate) < 0) return 'drop';
    if ((draw -= hangRate) < 0) return 'hang';
    return 'ok';
  }

  /** The served model a request names; Ollama also accepts `name` for `name:latest` and back. */
  #findModel(requested: string): string | undefined {
    const { models, flavour } = this.#context.options;
    if (models.includes(requested)) return requested;
    if (flavour !== 'ollama') return undefined;
    const alias = requested.endsWith(':latest') ? requested.slice(0, -':latest'.length) : `${requested}:latest`;
    return models.includes(alias) ? alias : undefined;
  }

  #error(res: ServerResponse, route: CompletionRoute, status: number, message: string, type: string, code: string | null, headers?: Record<string, string>): void {
    sendJson(res, status, route.api === 'ollama' ? ollamaError(message) : openAiError(message, type, code ?? status), headers);
  }
}
