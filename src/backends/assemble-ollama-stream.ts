import type { Readable } from 'node:stream';
import { BackendError } from '../errors.js';
import { excerpt, invalidShape } from './check-completion-shape.js';
import { mapStreamError } from './map-backend-error.js';
import { readStreamLines } from './read-stream-lines.js';

type Json = Record<string, unknown>;

export interface AssembledOllamaStream {
  /** The body a `"stream": false` answer would have had: the last object, holding the whole text. */
  readonly body: Json;
  /** Milliseconds from `started` to the first non-empty piece; undefined when no text came. */
  readonly ttftMs: number | undefined;
}

/**
 * Reads Ollama's streamed answer (NDJSON: one object per piece of text, then one with `done: true`
 * and the statistics) and rebuilds the body a non-streamed answer would have had, noting when the
 * first token arrived. A stream that never says `done` (cut short, or not Ollama's) fails as
 * ANSWER_INVALID_SHAPE; an `error` line fails the request as the server's error.
 */
export async function assembleOllamaStream(body: Readable, chat: boolean, started: number, url: string): Promise<AssembledOllamaStream> {
  const pieces: string[] = [];
  let ttftMs: number | undefined;
  let last: Json | undefined;
  const onLine = (line: string): void => {
    if (line === '') return;
    let object: Json;
    try {
      object = JSON.parse(line) as Json;
    } catch (error) {
      throw new BackendError('ANSWER_NOT_JSON', url, `${url} streamed a line that is not JSON: received ${excerpt(line)}`, { retryable: true, cause: error });
    }
    if (object.error !== undefined) throw mapStreamError(object.error, url);
    const piece = chat ? (object.message as Json | undefined)?.content : object.response;
    if (typeof piece === 'string' && piece !== '') {
      ttftMs ??= performance.now() - started;
      pieces.push(piece);
    }
    last = object;
  };
  const start = await readStreamLines(body, onLine);
  if (last?.done !== true) throw invalidShape(url, chat ? '/api/chat' : '/api/generate', 'a stream that never said "done": true', start);
  const text = pieces.join('');
  const whole = chat ? { message: { ...((last.message as Json | undefined) ?? { role: 'assistant' }), content: text } } : { response: text };
  return { body: { ...last, ...whole }, ttftMs };
}
