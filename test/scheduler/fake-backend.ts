import { BackendError } from '../../src/errors.js';
import type { Backend, CompletionRequest, CompletionResult } from '../../src/backends/backend.js';

type Behaviour = (request: CompletionRequest, n: number) => Promise<CompletionResult> | CompletionResult;

/** An in-memory Backend whose answers a test scripts; counts concurrency. */
export class FakeBackend implements Backend {
  readonly type = 'openai' as const;
  readonly url: string;
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly seen: string[] = [];
  #behaviour: Behaviour;

  constructor(url: string, behaviour: Behaviour = (r) => answer(r)) {
    this.url = url;
    this.#behaviour = behaviour;
  }

  async complete(request: CompletionRequest): Promise<CompletionResult> {
    this.calls += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.seen.push(String((request.body.messages as Array<{ content: string }>)?.at(-1)?.content ?? request.body.prompt));
    try {
      if (request.signal?.aborted) throw new BackendError('REQUEST_ABORTED', this.url, 'aborted');
      return await this.#behaviour(request, this.calls);
    } finally {
      this.inFlight -= 1;
    }
  }

  async describe() {
    return { type: this.type, models: [] };
  }

  async health() {
    return 'ok' as const;
  }

  async close(): Promise<void> {}
}

export function answer(request: CompletionRequest): CompletionResult {
  const text = String((request.body.messages as Array<{ content: string }>)?.at(-1)?.content ?? request.body.prompt);
  return {
    statusCode: 200,
    requestId: `req-${text}`,
    body: { object: 'chat.completion', model: request.body.model, choices: [{ index: 0, message: { role: 'assistant', content: `answer:${text}` } }] },
    promptTokens: 3,
    completionTokens: 5,
    timings: { latencyMs: 10 },
  };
}

export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
