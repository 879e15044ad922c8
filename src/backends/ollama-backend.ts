import { randomUUID } from 'node:crypto';
import { keepAliveSyntax, parseOllamaKeepAlive } from './ollama-keep-alive.js';
import { UsageError } from '../errors.js';
import { checkNumber } from '../util/check-option.js';
import type { Backend, CompletionRequest, CompletionResult, EndpointInfo, ServerType } from './backend.js';
import { HttpEndpoint, socketReleased, type HttpEndpointOptions } from './http-endpoint.js';
import { assembleOllamaStream } from './assemble-ollama-stream.js';
import { invalidShape } from './check-completion-shape.js';
import { mapHttpError, mapTransportError, parseJsonAnswer } from './map-backend-error.js';
import { ollamaFormat, ollamaMessages } from './ollama-request.js';
import { defaults } from '../defaults.js';
import { tokenCount } from './token-count.js';

export interface OllamaBackendOptions extends HttpEndpointOptions {
  /**
   * `keep_alive` sent with every request, so the model stays loaded between prompts (Ollama's own
   * default of 5m can unload it during a slow stretch).
   * @default '30m'
   */
  readonly keepAlive?: string;
  /** Timeout of describe/health probes. @default 10000 */
  readonly probeTimeoutMs?: number;
  /**
   * Stream answers (Ollama's NDJSON) to measure time to first token; the pieces are assembled
   * into the same body a non-streamed answer has. @default false
   */
  readonly stream?: boolean;
}

type Json = Record<string, unknown>;

/** OpenAI sampling fields and their Ollama `options` names. */
const optionNames: ReadonlyMap<string, string> = new Map([
  ['temperature', 'temperature'],
  ['top_p', 'top_p'],
  ['top_k', 'top_k'],
  ['seed', 'seed'],
  ['max_tokens', 'num_predict'],
  ['max_completion_tokens', 'num_predict'],
  ['stop', 'stop'],
  ['presence_penalty', 'presence_penalty'],
  ['frequency_penalty', 'frequency_penalty'],
  ['repeat_penalty', 'repeat_penalty'],
  ['min_p', 'min_p'],
  ['num_ctx', 'num_ctx'],
]);

/** An answer's body (as a non-streamed answer has it), its text for messages, and the time to first token when streamed. */
interface OllamaAnswer {
  readonly body: Json;
  readonly text: string;
  readonly ttftMs: number | undefined;
}

const modelOf = (native: Json): string | undefined => (typeof native.model === 'string' ? native.model : undefined);

const nsToMs = (ns: unknown): number | undefined => (typeof ns === 'number' ? ns / 1e6 : undefined);

/**
 * Ollama's native API (/api/chat, /api/generate): unlike its /v1 endpoints it takes `keep_alive`
 * and reports load times. Answers are converted to OpenAI bodies so the output is one format.
 */
export class OllamaBackend implements Backend {
  readonly type: ServerType = 'ollama';
  readonly url: string;
  readonly #http: HttpEndpoint;
  /** As Ollama takes it: seconds as a number, a Go duration as a string. */
  readonly #keepAlive: string | number;
  readonly #probeTimeoutMs: number;
  readonly #stream: boolean;

  constructor(options: OllamaBackendOptions) {
    const keepAlive = typeof options.keepAlive === 'string' ? parseOllamaKeepAlive(options.keepAlive) : undefined;
    if (options.keepAlive !== undefined && keepAlive === undefined) {
      throw new UsageError(`expected \`keepAlive\` to be ${keepAliveSyntax}, got ${JSON.stringify(options.keepAlive)}`);
    }
    if (options.probeTimeoutMs !== undefined) checkNumber('probeTimeoutMs', options.probeTimeoutMs, 0, true);
    this.url = options.url;
    this.#http = new HttpEndpoint(options);
    this.#keepAlive = keepAlive ?? defaults.keepAlive;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 10_000;
    this.#stream = options.stream ?? false;
  }

  async complete(request: CompletionRequest): Promise<CompletionResult> {
    const started = performance.now();
    const chat = request.endpoint === '/v1/chat/completions';
    const source = request.body;
    const model = source.model;
    const options: Json = {};
    for (const key in source) {
      const name = optionNames.get(key);
      if (name !== undefined && source[key] !== undefined) options[name] = source[key];
    }
    const native: Json = { model, stream: this.#stream, keep_alive: this.#keepAlive, options };
    if (chat) native.messages = ollamaMessages(source.messages);
    else native.prompt = source.prompt;
    // A native `format` in the request wins over one derived from `response_format`.
    const format = source.format ?? ollamaFormat(source);
    if (format !== undefined) native.format = format;
    const path = chat ? '/api/chat' : '/api/generate';
    const { body, text, ttftMs } = this.#stream ? await this.#sendStreamed(path, native, request, chat, started) : await this.#send(path, native, request);
    const promptTokens = tokenCount(body.prompt_eval_count) ?? 0;
    const completionTokens = tokenCount(body.eval_count) ?? 0;
    const finishReason = body.done_reason === 'length' ? 'length' : 'stop';
    const content = chat ? (body.message as Json | undefined)?.content : body.response;
    if (typeof content !== 'string') {
      const expected = chat ? 'no `message.content`' : 'no `response` text';
      throw invalidShape(this.url, path, expected, text);
    }
    const id = `ollama-${randomUUID()}`;
    return {
      statusCode: 200,
      requestId: id,
      body: {
        id,
        object: chat ? 'chat.completion' : 'text_completion',
        created: Math.floor(Date.parse(String(body.created_at ?? '')) / 1000) || Math.floor(Date.now() / 1000),
        model: body.model ?? model,
        choices: [chat ? { index: 0, message: { role: 'assistant', content }, finish_reason: finishReason } : { index: 0, text: content, finish_reason: finishReason }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      },
      promptTokens,
      completionTokens,
      timings: {
        latencyMs: performance.now() - started,
        ttftMs,
        modelLoadMs: nsToMs(body.load_duration),
        promptMs: nsToMs(body.prompt_eval_duration),
        predictedMs: nsToMs(body.eval_duration),
      },
    };
  }

  async #send(path: string, native: Json, request: CompletionRequest): Promise<OllamaAnswer> {
    const answer = await this.#http.send('POST', path, native, request);
    if (answer.statusCode !== 200) throw mapHttpError(answer.statusCode, answer.headers, answer.text, this.url, modelOf(native), this.type);
    return { body: parseJsonAnswer(answer.text, this.url), text: answer.text, ttftMs: undefined };
  }

  async #sendStreamed(path: string, native: Json, request: CompletionRequest, chat: boolean, started: number): Promise<OllamaAnswer> {
    const stream = await this.#http.open('POST', path, native, request);
    try {
      if (stream.statusCode !== 200) {
        const chunks: Buffer[] = [];
        for await (const chunk of stream.body) chunks.push(chunk as Buffer);
        throw mapHttpError(stream.statusCode, stream.headers, Buffer.concat(chunks).toString('utf8'), this.url, modelOf(native), this.type);
      }
      const assembled = await assembleOllamaStream(stream.body, chat, started, this.url);
      await socketReleased();
      return { ...assembled, text: JSON.stringify(assembled.body) };
    } catch (error) {
      throw mapTransportError(error, this.url, this.#http.transportContext(request, stream));
    } finally {
      stream.done();
    }
  }

  async describe(): Promise<EndpointInfo> {
    const [tags, resident] = await Promise.all([this.#getJson('/api/tags'), this.residentModels()]);
    const names = (list: unknown): string[] =>
      Array.isArray(list) ? list.map((m: Json) => m?.name ?? m?.model).filter((n): n is string => typeof n === 'string') : [];
    const models = [...new Set([...names(tags.models), ...names(resident)])];
    // Ollama reloads a model when a request asks for another num_ctx, so the resident context is
    // the one requests get; it is reported only when all resident models agree.
    const contexts = new Set(resident.map((m) => m.context_length).filter((n): n is number => typeof n === 'number' && n > 0));
    const contextSize = contexts.size === 1 ? [...contexts][0] : undefined;
    return { type: this.type, models, contextSize };
  }

  /** Models resident now, from /api/ps (name, size, size_vram, expires_at, context_length). */
  async residentModels(): Promise<Json[]> {
    const models = (await this.#getJson('/api/ps')).models;
    return Array.isArray(models) ? (models as Json[]) : [];
  }

  async #getJson(path: string): Promise<Json> {
    const answer = await this.#http.send('GET', path, undefined, { timeoutMs: this.#probeTimeoutMs });
    if (answer.statusCode !== 200) throw mapHttpError(answer.statusCode, answer.headers, answer.text, this.url, undefined, this.type);
    return parseJsonAnswer(answer.text, this.url);
  }

  async health(): Promise<'ok' | 'loading' | 'down'> {
    try {
      const answer = await this.#http.send('GET', '/api/version', undefined, { timeoutMs: this.#probeTimeoutMs });
      return answer.statusCode === 200 ? 'ok' : 'down';
    } catch {
      return 'down';
    }
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}
