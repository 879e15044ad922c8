import { randomUUID } from 'node:crypto';
import { checkNumber } from '../util/check-option.js';
import type { Backend, CompletionRequest, CompletionResult, EndpointInfo, ServerType } from './backend.js';
import { HttpEndpoint, socketReleased, type HttpEndpointOptions } from './http-endpoint.js';
import { mapHttpError, mapTransportError, parseJsonAnswer } from './map-backend-error.js';
import { assembleStream } from './assemble-stream.js';
import { checkCompletionShape } from './check-completion-shape.js';
import { parseRateLimitHeaders } from './rate-limit-headers.js';
import { tokenCount } from './token-count.js';

export interface OpenAiBackendOptions extends HttpEndpointOptions {
  /**
   * Stream answers (`stream: true`, usage included) to measure time to first token; the chunks
   * are assembled into the same body a non-streamed answer has.
   * @default false
   */
  readonly stream?: boolean;
  /** Deadline of describe and health requests, in milliseconds. @default 10000 */
  readonly probeTimeoutMs?: number;
}

type Json = Record<string, unknown>;
type Headers = Record<string, string | string[] | undefined>;

function headerString(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const streamOptions = { include_usage: true } as const;

/** Any OpenAI-compatible server (vLLM, LM Studio, a hosted API): /v1/chat/completions, /v1/completions, /v1/models. */
export class OpenAiBackend implements Backend {
  readonly type: ServerType = 'openai';
  readonly url: string;
  protected readonly http: HttpEndpoint;
  protected readonly probeTimeoutMs: number;
  readonly #stream: boolean;

  constructor(options: OpenAiBackendOptions) {
    if (options.probeTimeoutMs !== undefined) checkNumber('probeTimeoutMs', options.probeTimeoutMs, 0, true);
    this.url = options.url;
    this.http = new HttpEndpoint(options);
    this.#stream = options.stream ?? false;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 10_000;
  }

  async complete(request: CompletionRequest): Promise<CompletionResult> {
    const started = performance.now();
    if (this.#stream) return this.#completeStreamed(request, started);
    const answer = await this.http.send('POST', request.endpoint, request.body, request);
    if (answer.statusCode !== 200) throw mapHttpError(answer.statusCode, answer.headers, answer.text, this.url, modelOf(request), this.type);
    const body = parseJsonAnswer(answer.text, this.url);
    checkCompletionShape(body, request.endpoint, this.url, answer.text);
    return this.#result(body, answer.headers, performance.now() - started, undefined);
  }

  async #completeStreamed(request: CompletionRequest, started: number): Promise<CompletionResult> {
    const body = { ...request.body, stream: true, stream_options: streamOptions };
    const stream = await this.http.open('POST', request.endpoint, body, request);
    try {
      if (stream.statusCode !== 200) {
        const chunks: Buffer[] = [];
        for await (const chunk of stream.body) chunks.push(chunk as Buffer);
        throw mapHttpError(stream.statusCode, stream.headers, Buffer.concat(chunks).toString('utf8'), this.url, modelOf(request), this.type);
      }
      const assembled = await assembleStream(stream.body, request.endpoint, started, this.url);
      await socketReleased();
      return this.#result(assembled.body, stream.headers, performance.now() - started, assembled.ttftMs);
    } catch (error) {
      throw mapTransportError(error, this.url, this.http.transportContext(request, stream));
    } finally {
      stream.done();
    }
  }

  #result(body: Json, headers: Headers, latencyMs: number, ttftMs: number | undefined): CompletionResult {
    const headerId = headerString(headers['x-request-id']);
    const usage = (body.usage ?? {}) as Json;
    const timings = body.timings as Json | undefined;
    return {
      statusCode: 200,
      requestId: headerId ?? (typeof body.id === 'string' && body.id !== '' ? body.id : `req_${randomUUID()}`),
      body,
      promptTokens: tokenCount(usage.prompt_tokens) ?? tokenCount(timings?.prompt_n) ?? 0,
      completionTokens: tokenCount(usage.completion_tokens) ?? tokenCount(timings?.predicted_n) ?? 0,
      timings: {
        latencyMs,
        ttftMs,
        promptMs: typeof timings?.prompt_ms === 'number' ? timings.prompt_ms : undefined,
        predictedMs: typeof timings?.predicted_ms === 'number' ? timings.predicted_ms : undefined,
      },
      rateLimit: parseRateLimitHeaders(headers),
    };
  }

  async describe(): Promise<EndpointInfo> {
    return { type: this.type, models: await this.listModels() };
  }

  /** Model ids from GET /v1/models. */
  protected async listModels(): Promise<string[]> {
    const answer = await this.http.send('GET', '/v1/models', undefined, { timeoutMs: this.probeTimeoutMs });
    if (answer.statusCode !== 200) throw mapHttpError(answer.statusCode, answer.headers, answer.text, this.url, undefined, this.type);
    const data = parseJsonAnswer(answer.text, this.url).data;
    return Array.isArray(data) ? data.map((m: { id?: unknown }) => m?.id).filter((id): id is string => typeof id === 'string') : [];
  }

  async health(): Promise<'ok' | 'loading' | 'down'> {
    return this.probeHealth('/v1/models');
  }

  /** 200 → ok, 503 → loading (a model is loading), anything else or no answer → down. */
  protected async probeHealth(path: string): Promise<'ok' | 'loading' | 'down'> {
    try {
      const answer = await this.http.send('GET', path, undefined, { timeoutMs: this.probeTimeoutMs });
      return answer.statusCode === 200 ? 'ok' : answer.statusCode === 503 ? 'loading' : 'down';
    } catch {
      return 'down';
    }
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

function modelOf(request: CompletionRequest): string | undefined {
  return typeof request.body.model === 'string' ? request.body.model : undefined;
}
