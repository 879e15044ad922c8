import { basename } from 'node:path';
import { ServerError } from '../errors.js';
import { requestLocal } from './request-local.js';
import { readLogSince } from './server-log.js';
import { earlyExitError, startupTimeoutError, type StartErrorContext } from './server-start-errors.js';
import type { ExitOutcome } from './spawn-reaped.js';

export interface WarmUpServerOptions {
  /** `http://127.0.0.1:<port>` of the server, whose /health already answered 200. */
  readonly url: string;
  /** The key the server admits, sent as a bearer token. */
  readonly apiKey: string;
  /** The spawn being warmed up: its end, its port and where its output starts in the log. */
  readonly attempt: { readonly exited: Promise<ExitOutcome>; readonly port: number; readonly logOffset: number };
  /** The `performance.now()` by which the warm-up answer must have come. */
  readonly deadline: number;
  /** The startup timeout the deadline came from, named in the timeout error. */
  readonly timeoutMs: number;
  /** What the errors name; the server's output is read from the log only when an error needs it. */
  readonly names: Omit<StartErrorContext, 'output'>;
}

/**
 * Sends a 1-token chat completion and resolves once it is answered with 200: /health says the
 * server listens, this says the model really answers. Throws a ServerError (SERVER_NOT_READY, or
 * MODEL_INVALID as the embedded server printed it) naming the log otherwise.
 */
export async function warmUpServer(options: WarmUpServerOptions): Promise<void> {
  const { url, attempt, deadline, timeoutMs, names } = options;
  const output = (): string => readLogSince(names.logPath, attempt.logOffset);
  const timeoutError = (what: string): ServerError => startupTimeoutError({ ...names, output: output() }, timeoutMs, what);
  const remaining = deadline - performance.now();
  if (remaining <= 0) throw timeoutError('it had no time left for the warm-up request');
  const answer = requestLocal(`${url}/v1/chat/completions`, {
    method: 'POST',
    json: { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1, temperature: 0 },
    timeoutMs: remaining,
    headers: { authorization: `Bearer ${options.apiKey}` },
  }).then(
    (res) => ({ res }),
    (error: Error) => ({ error }),
  );
  const first = await Promise.race([attempt.exited.then((exit) => ({ exit })), answer]);
  if ('exit' in first) throw earlyExitError({ ...names, output: output() }, first.exit, { count: 1, lastPort: attempt.port });
  const server = `${names.label} for model ${basename(names.modelPath)} on ${url}`;
  if ('error' in first) {
    if (performance.now() >= deadline) throw timeoutError('its warm-up request did not finish');
    throw new ServerError('SERVER_NOT_READY', `${server} failed its warm-up request (${first.error.message}); see ${names.logPath}`, first.error);
  }
  if (first.res.statusCode !== 200) {
    throw new ServerError('SERVER_NOT_READY', `${server} answered its warm-up request with status ${first.res.statusCode}: ${first.res.body.slice(0, 300)}; see ${names.logPath}`);
  }
}
