import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AnswerParts } from './answer-parts.js';
import { parseKeepAliveMs } from './model-residency.js';
import { ollamaBody, OllamaStream, type OllamaKind } from './ollama-answers.js';
import { openAiBody, OpenAiStream, type OpenAiKind } from './openai-answers.js';
import { estimateTokens, simAnswer } from './sim-answer.js';
import { requestedShape } from './json-answers.js';
import type { SimContext } from './sim-context.js';
import type { SimRequest } from './sim-options.js';
import type { SlotWaiter } from './slot-queue.js';

/** Which wire format a completion endpoint speaks. */
export type CompletionRoute =
  | { readonly api: 'openai'; readonly kind: OpenAiKind }
  | { readonly api: 'ollama'; readonly kind: OllamaKind };

/** What Ollama reports as `load_duration` for a model already in memory. */
const residentLoadMs = 0.05;

/** `waiting`: loading the model or waiting for a slot; `over`: answered, or the client left. */
type Phase = 'waiting' | 'serving' | 'over';

function tokenCap(body: Readonly<Record<string, unknown>>): number | undefined {
  const options = body['options'];
  const candidates = [
    body['max_tokens'],
    body['max_completion_tokens'],
    body['n_predict'],
    typeof options === 'object' && options !== null ? (options as Record<string, unknown>)['num_predict'] : undefined,
  ];
  for (const value of candidates) if (typeof value === 'number' && value >= 0) return Math.floor(value);
  return undefined;
}

/**
 * One completion request that is served (or hangs): it takes a slot in FIFO order, holds it for
 * its service time, answers, and frees the slot; a client that leaves first frees it too.
 */
export class SimExchange implements SlotWaiter {
  cancelled?: boolean;
  readonly #context: SimContext;
  readonly #res: ServerResponse;
  readonly #route: CompletionRoute;
  readonly #request: SimRequest;
  readonly #id: string;
  readonly #hang: boolean;
  #phase: Phase = 'waiting';
  #queued = false;
  #timer: NodeJS.Timeout | undefined;
  #loadMs = residentLoadMs;
  /** What the answer holds, once its slot is taken. */
  #answer: AnswerParts | undefined;

  constructor(context: SimContext, res: ServerResponse, route: CompletionRoute, request: SimRequest, id: string, hang: boolean) {
    this.#context = context;
    this.#res = res;
    this.#route = route;
    this.#request = request;
    this.#id = id;
    this.#hang = hang;
  }

  begin(): void {
    const { stats, residency, options } = this.#context;
    stats.open();
    this.#res.once('close', () => this.#onClose());
    if (options.flavour !== 'ollama' || residency.isResident(this.#request.model)) {
      this.#enqueue();
      return;
    }
    const loadStart = performance.now();
    // As Ollama, a request reports the time it waited for its model: one that arrives while another
    // request's load runs waits for that load's rest, and no load of its own is made.
    const starts = !residency.isLoading(this.#request.model);
    if (starts) stats.modelLoads += 1;
    void residency.load(this.#request.model).then(() => {
      // Timers may fire a fraction of a millisecond early by performance.now(); a load took at least loadMs.
      const waitedMs = performance.now() - loadStart;
      this.#loadMs = (starts ? Math.max(waitedMs, options.loadMs ?? 0) : waitedMs) + residentLoadMs;
      if (this.#phase === 'waiting') this.#enqueue();
    });
  }

  #enqueue(): void {
    this.#queued = true;
    this.#context.queue.enqueue(this);
  }

  #onClose(): void {
    this.#context.stats.inFlight--;
    if (this.#phase === 'waiting' && this.#queued) this.#context.queue.cancel(this);
    if (this.#phase === 'serving') {
      clearTimeout(this.#timer);
      this.#context.queue.release();
    }
    this.#phase = 'over';
  }

  start(): void {
    const { options, queue, stats } = this.#context;
    this.#phase = 'serving';
    stats.inService(queue.inService);
    if (this.#hang) return;
    const raw = typeof options.serviceMs === 'function' ? options.serviceMs(this.#request) : options.serviceMs;
    const serviceMs = Number.isFinite(raw) && raw > 0 ? raw : 0;
    const parts = this.#parts(serviceMs);
    this.#answer = parts;
    if (!this.#request.stream) {
      const send = (): void => this.#finish(() => this.#sendBody(parts));
      if (serviceMs === 0) setImmediate(send);
      else this.#timer = setTimeout(send, serviceMs);
      return;
    }
    const stream =
      this.#route.api === 'ollama'
        ? new OllamaStream(this.#res, this.#route.kind, parts)
        : new OpenAiStream(this.#res, this.#route.kind, parts, this.#includeUsage(), options.flavour === 'llama-server');
    if (serviceMs === 0) {
      setImmediate(() => this.#finish(() => (stream.writeHead(), stream.writeRest())));
      return;
    }
    this.#timer = setTimeout(() => {
      stream.writeHead();
      this.#timer = setTimeout(() => this.#finish(() => stream.writeRest()), parts.predictedMs);
    }, parts.promptMs);
  }

  #parts(serviceMs: number): AnswerParts {
    const { completionTokens } = this.#context.options;
    const cap = tokenCap(this.#request.body);
    const limited = cap !== undefined && cap < completionTokens;
    // A quarter of the slot time goes to the prompt, the rest to generation, as timings report.
    const promptMs = serviceMs / 4;
    const reproducible = this.#context.options.reproducibleAnswers;
    return {
      id: `${this.#route.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${reproducible ? createHash('sha256').update(this.#request.promptText).digest('hex').slice(0, 12) : this.#id}`,
      created: reproducible ? 0 : Math.floor(Date.now() / 1000),
      model: this.#request.model,
      content: this.#content(),
      promptTokens: estimateTokens(this.#request.promptText),
      completionTokens: limited ? cap : completionTokens,
      finishReason: limited ? 'length' : 'stop',
      promptMs,
      predictedMs: serviceMs - promptMs,
      loadMs: this.#loadMs,
    };
  }

  /** `simAnswer(prompt)`, or JSON when the request asks for it. */
  #content(): string {
    const shape = requestedShape(this.#route, this.#request.body);
    return shape === undefined ? simAnswer(this.#request.promptText) : this.#context.jsonAnswers.answer(shape, this.#request.promptText);
  }

  #includeUsage(): boolean {
    const streamOptions = this.#request.body['stream_options'];
    return typeof streamOptions === 'object' && streamOptions !== null && (streamOptions as Record<string, unknown>)['include_usage'] === true;
  }

  #sendBody(parts: AnswerParts): void {
    const body =
      this.#route.api === 'ollama'
        ? ollamaBody(this.#route.kind, parts)
        : openAiBody(this.#route.kind, parts, this.#context.options.flavour === 'llama-server');
    this.#res.writeHead(200, { 'content-type': 'application/json' });
    this.#res.end(JSON.stringify(body));
  }

  /** Frees the slot, then writes the end of the answer (unless the client already left). */
  #finish(write: () => void): void {
    if (this.#phase !== 'serving') return;
    const { queue, stats, residency, options } = this.#context;
    this.#phase = 'over';
    stats.completed++;
    stats.promptTokens += this.#answer?.promptTokens ?? 0;
    stats.completionTokens += this.#answer?.completionTokens ?? 0;
    if (options.flavour === 'ollama') {
      const keepAlive = this.#route.api === 'ollama' ? this.#request.body['keep_alive'] : undefined;
      residency.touch(this.#request.model, parseKeepAliveMs(keepAlive));
    }
    queue.release();
    write();
  }
}
