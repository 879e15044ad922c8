import type { ServerResponse } from 'node:http';
import { splitPieces, type AnswerParts } from './answer-parts.js';

/** Which native Ollama body to build: `/api/chat` (`message`) or `/api/generate` (`response`). */
export type OllamaKind = 'chat' | 'generate';

// At least 1 µs: clients divide by these durations to get tokens per second.
const toNs = (ms: number): number => Math.max(1000, Math.round(ms * 1e6));

function piece(kind: OllamaKind, model: string, createdAt: string, text: string): Record<string, unknown> {
  return kind === 'chat'
    ? { model, created_at: createdAt, message: { role: 'assistant', content: text }, done: false }
    : { model, created_at: createdAt, response: text, done: false };
}

/** The final object: `done: true` with Ollama's statistics, durations in nanoseconds. */
function final(kind: OllamaKind, parts: AnswerParts, createdAt: string, text: string): Record<string, unknown> {
  const loadNs = toNs(parts.loadMs);
  const promptNs = toNs(parts.promptMs);
  const evalNs = toNs(parts.predictedMs);
  return {
    ...piece(kind, parts.model, createdAt, text),
    done: true,
    done_reason: parts.finishReason,
    total_duration: loadNs + promptNs + evalNs,
    load_duration: loadNs,
    prompt_eval_count: parts.promptTokens,
    prompt_eval_duration: promptNs,
    eval_count: parts.completionTokens,
    eval_duration: evalNs,
  };
}

/** The `"stream": false` answer: one JSON object. */
export function ollamaBody(kind: OllamaKind, parts: AnswerParts): Record<string, unknown> {
  return final(kind, parts, new Date().toISOString(), parts.content);
}

/** Ollama's default answer: NDJSON, one object per piece, then the `done: true` object. */
export class OllamaStream {
  readonly #res: ServerResponse;
  readonly #kind: OllamaKind;
  readonly #parts: AnswerParts;
  readonly #pieces: string[];

  constructor(res: ServerResponse, kind: OllamaKind, parts: AnswerParts) {
    this.#res = res;
    this.#kind = kind;
    this.#parts = parts;
    this.#pieces = splitPieces(parts.content);
  }

  writeHead(): void {
    this.#res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    this.#res.write(`${JSON.stringify(piece(this.#kind, this.#parts.model, new Date().toISOString(), this.#pieces[0]!))}\n`);
  }

  writeRest(): void {
    const createdAt = new Date().toISOString();
    let text = '';
    for (let i = 1; i < this.#pieces.length; i++) text += `${JSON.stringify(piece(this.#kind, this.#parts.model, createdAt, this.#pieces[i]!))}\n`;
    this.#res.end(`${text}${JSON.stringify(final(this.#kind, this.#parts, createdAt, ''))}\n`);
  }
}

/** Ollama's native error shape. */
export function ollamaError(message: string): string {
  return JSON.stringify({ error: message });
}
