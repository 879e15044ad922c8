import type { ServerResponse } from 'node:http';
import { splitPieces, type AnswerParts } from './answer-parts.js';

/** Which OpenAI body to build: `chat.completion` or `text_completion`. */
export type OpenAiKind = 'chat' | 'text';

function perSecond(tokens: number, ms: number): number {
  return ms > 0 ? (tokens * 1000) / ms : tokens * 1e6;
}

/** llama-server's `timings` object. */
export function llamaTimings(parts: AnswerParts): Record<string, number> {
  return {
    cache_n: 0,
    prompt_n: parts.promptTokens,
    prompt_ms: parts.promptMs,
    prompt_per_token_ms: parts.promptMs / parts.promptTokens,
    prompt_per_second: perSecond(parts.promptTokens, parts.promptMs),
    predicted_n: parts.completionTokens,
    predicted_ms: parts.predictedMs,
    predicted_per_token_ms: parts.completionTokens > 0 ? parts.predictedMs / parts.completionTokens : 0,
    predicted_per_second: perSecond(parts.completionTokens, parts.predictedMs),
  };
}

function usage(parts: AnswerParts): Record<string, number> {
  return {
    prompt_tokens: parts.promptTokens,
    completion_tokens: parts.completionTokens,
    total_tokens: parts.promptTokens + parts.completionTokens,
  };
}

/** The non-streamed answer. `withTimings` adds llama-server's `timings`. */
export function openAiBody(kind: OpenAiKind, parts: AnswerParts, withTimings: boolean): Record<string, unknown> {
  const choice =
    kind === 'chat'
      ? { index: 0, message: { role: 'assistant', content: parts.content }, finish_reason: parts.finishReason, logprobs: null }
      : { index: 0, text: parts.content, finish_reason: parts.finishReason, logprobs: null };
  const body: Record<string, unknown> = {
    id: parts.id,
    object: kind === 'chat' ? 'chat.completion' : 'text_completion',
    created: parts.created,
    model: parts.model,
    choices: [choice],
    usage: usage(parts),
  };
  if (withTimings) body['timings'] = llamaTimings(parts);
  return body;
}

function chunk(kind: OpenAiKind, parts: AnswerParts, delta: string | undefined, finish: string | null, role = false): string {
  const choice =
    kind === 'chat'
      ? { index: 0, delta: delta === undefined ? {} : role ? { role: 'assistant', content: delta } : { content: delta }, finish_reason: finish }
      : { index: 0, text: delta ?? '', finish_reason: finish, logprobs: null };
  const body = {
    id: parts.id,
    object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: parts.created,
    model: parts.model,
    choices: [choice],
  };
  return `data: ${JSON.stringify(body)}\n\n`;
}

/**
 * Streams the answer as server-sent events in two writes: the head (first piece) after the
 * prompt phase and the rest after generation, so that a client can measure time to first token.
 */
export class OpenAiStream {
  readonly #res: ServerResponse;
  readonly #kind: OpenAiKind;
  readonly #parts: AnswerParts;
  readonly #pieces: string[];
  readonly #includeUsage: boolean;
  readonly #withTimings: boolean;

  constructor(res: ServerResponse, kind: OpenAiKind, parts: AnswerParts, includeUsage: boolean, withTimings: boolean) {
    this.#res = res;
    this.#kind = kind;
    this.#parts = parts;
    this.#pieces = splitPieces(parts.content);
    this.#includeUsage = includeUsage;
    this.#withTimings = withTimings;
  }

  writeHead(): void {
    this.#res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    this.#res.write(chunk(this.#kind, this.#parts, this.#pieces[0], null, true));
  }

  writeRest(): void {
    let text = '';
    for (let i = 1; i < this.#pieces.length; i++) text += chunk(this.#kind, this.#parts, this.#pieces[i], null);
    text += chunk(this.#kind, this.#parts, undefined, this.#parts.finishReason);
    if (this.#includeUsage) {
      const final: Record<string, unknown> = {
        id: this.#parts.id,
        object: this.#kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
        created: this.#parts.created,
        model: this.#parts.model,
        choices: [],
        usage: usage(this.#parts),
      };
      if (this.#withTimings) final['timings'] = llamaTimings(this.#parts);
      text += `data: ${JSON.stringify(final)}\n\n`;
    }
    this.#res.end(`${text}data: [DONE]\n\n`);
  }
}

/** OpenAI's error shape, which llama-server and Ollama's `/v1/*` share. */
export function openAiError(message: string, type: string, code: string | number | null): string {
  return JSON.stringify({ error: { message, type, code } });
}
