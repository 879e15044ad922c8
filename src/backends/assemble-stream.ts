import type { Readable } from 'node:stream';
import { BackendError } from '../errors.js';
import { mapStreamError } from './map-backend-error.js';
import { excerpt, invalidShape } from './check-completion-shape.js';
import type { PromptEndpoint } from './backend.js';
import { readStreamLines } from './read-stream-lines.js';

type Json = Record<string, unknown>;

export interface AssembledStream {
  /** The body a non-streamed answer would have had (`chat.completion` or `text_completion`). */
  readonly body: Json;
  /** Milliseconds from `started` to the first non-empty delta; undefined when no text came. */
  readonly ttftMs: number | undefined;
}

/**
 * Reads an OpenAI server-sent-event stream and rebuilds the body a non-streamed answer would have
 * had, noting when the first token arrived, so callers see one shape whether streamed or not. A
 * stream without one choice (an HTML page, a plain JSON body, only `[DONE]`) is no completion and
 * fails as ANSWER_INVALID_SHAPE, never stored as an empty answer.
 */
export async function assembleStream(body: Readable, endpoint: PromptEndpoint, started: number, url: string): Promise<AssembledStream> {
  const chat = endpoint === '/v1/chat/completions';
  const pieces: string[] = [];
  let ttftMs: number | undefined;
  let finishReason: unknown = null;
  let first: Json | undefined;
  let usage: unknown;
  let timings: unknown;
  let choices = 0;
  const onEvent = (data: string): void => {
    if (data === '[DONE]' || data === '') return;
    let chunk: Json;
    try {
      chunk = JSON.parse(data) as Json;
    } catch (error) {
      throw new BackendError('ANSWER_NOT_JSON', url, `${url} streamed an event that is not JSON: received ${excerpt(data)}`, {
        retryable: true,
        cause: error,
      });
    }
    // An error in mid-stream (llama-server sends one when a slot fails) is a failed request.
    if (chunk.error !== undefined) throw mapStreamError(chunk.error, url);
    first ??= chunk;
    if (chunk.usage) usage = chunk.usage;
    if (chunk.timings) timings = chunk.timings;
    const choice = (chunk.choices as Json[] | undefined)?.[0];
    if (!choice) return;
    choices += 1;
    const piece = chat ? (choice.delta as Json | undefined)?.content : choice.text;
    if (typeof piece === 'string' && piece !== '') {
      ttftMs ??= performance.now() - started;
      pieces.push(piece);
    }
    if (choice.finish_reason) finishReason = choice.finish_reason;
  };
  const start = await readStreamLines(body, (line) => {
    if (line.startsWith('data:')) onEvent(line.slice(5).trim());
  });
  if (choices === 0) throw invalidShape(url, endpoint, 'a stream without any choice', start);
  const text = pieces.join('');
  const choice = chat
    ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: finishReason }
    : { index: 0, text, finish_reason: finishReason };
  return {
    body: {
      id: first?.id,
      object: chat ? 'chat.completion' : 'text_completion',
      created: first?.created,
      model: first?.model,
      ...(first?.system_fingerprint === undefined ? {} : { system_fingerprint: first.system_fingerprint }),
      choices: [choice],
      ...(usage === undefined ? {} : { usage }),
      ...(timings === undefined ? {} : { timings }),
    },
    ttftMs,
  };
}
