import { BackendError } from '../errors.js';
import type { PromptEndpoint } from './backend.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The start of what the server sent, for a message: enough to recognise it, short enough for a log line. */
export function excerpt(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** What is wrong with one choice of an OpenAI answer, or undefined when it is a completion. */
function choiceProblem(choice: unknown, chat: boolean): string | undefined {
  if (!isObject(choice)) return 'a choice that is not an object';
  if (chat) {
    const message = choice.message;
    // A tool call answers with `content: null`: still a message.
    if (!isObject(message)) return 'a choice without `message`';
    if (message.content !== null && message.content !== undefined && typeof message.content !== 'string') return 'a message whose `content` is not text';
    return undefined;
  }
  return typeof choice.text === 'string' ? undefined : 'a choice without `text`';
}

/**
 * Checks that a 200 answer is a completion for its endpoint: `choices[].message` for chat,
 * `choices[].text` for completions. A 200 that is something else (a proxy's page turned JSON, an
 * empty `choices`, another API's answer) must not be stored as done with no answer; it fails as
 * ANSWER_INVALID_SHAPE, retried like any answer a hiccup may have spoiled.
 */
export function checkCompletionShape(body: Json, endpoint: PromptEndpoint, url: string, text: string): void {
  const chat = endpoint === '/v1/chat/completions';
  const choices = body.choices;
  let problem: string | undefined;
  if (!Array.isArray(choices)) problem = 'no `choices` array';
  else if (choices.length === 0) problem = 'an empty `choices` array';
  else problem = choices.map((choice) => choiceProblem(choice, chat)).find((p) => p !== undefined);
  if (problem === undefined) return;
  throw invalidShape(url, endpoint, problem, text);
}

/** The ANSWER_INVALID_SHAPE error: what came, where, and what was expected. */
export function invalidShape(url: string, endpoint: string, problem: string, text: string): BackendError {
  return new BackendError(
    'ANSWER_INVALID_SHAPE',
    url,
    `${url} answered 200 to ${endpoint} with ${problem}, not a completion: received ${excerpt(text)}; check that --server points at a model server and not at a proxy or another API`,
    { retryable: true },
  );
}
