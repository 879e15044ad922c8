import type { IncomingHttpHeaders } from 'node:http';
import { json, startRecordingServer } from './recording-server.js';

/** One request as the counting server received it. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body, or undefined when there was none. */
  readonly body: Record<string, unknown> | undefined;
}

export interface CountingModelServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly received: ReceivedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export type ModelAnswer = { readonly status: number; readonly body: unknown };

/** Ollama's `done: true` statistics the counting server reports, durations in nanoseconds. */
export const ollamaStats = {
  done: true,
  done_reason: 'length',
  created_at: '2026-01-02T03:04:05Z',
  prompt_eval_count: 3,
  eval_count: 2,
  load_duration: 1_500_000,
  prompt_eval_duration: 2_000_000,
  eval_duration: 250_000_000,
} as const;

/** A tiny model server's answers: OpenAI shapes for `/v1/*`, Ollama shapes for `/api/*`. */
export function modelAnswer(request: ReceivedRequest, reply = 'recorded answer'): ModelAnswer {
  const body = request.body ?? {};
  const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
  switch (request.path) {
    case '/v1/chat/completions':
      return {
        status: 200,
        body: { id: 'chatcmpl-rec', object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }], usage },
      };
    case '/v1/completions':
      return { status: 200, body: { id: 'cmpl-rec', object: 'text_completion', created: 1, model: body.model, choices: [{ index: 0, text: reply, finish_reason: 'stop' }], usage } };
    case '/api/chat':
      return { status: 200, body: { model: body.model, message: { role: 'assistant', content: reply }, ...ollamaStats } };
    case '/api/generate':
      return { status: 200, body: { model: body.model, response: reply, ...ollamaStats } };
    default:
      return { status: 404, body: { error: `no route ${request.method} ${request.path}` } };
  }
}

/** A model server on 127.0.0.1 port 0 (the recording server) answering with `answer`; it keeps every request and counts TCP connections. */
export async function startCountingModelServer(answer: (request: ReceivedRequest) => ModelAnswer = (request) => modelAnswer(request)): Promise<CountingModelServer> {
  const server = await startRecordingServer((request, res) => {
    const { status, body } = answer({ ...request, path: request.path.split('?')[0]! });
    json(res, status, body);
  });
  return { url: server.url, received: server.requests, connections: () => server.connections(), close: () => server.close() };
}
