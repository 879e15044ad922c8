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
  if (problem !== undefined) throw invalidShape(url, endpoint, problem, text);
  const empty = chat ? (choices as Json[]).find((choice) => isEmptyMessage(choice.message as Json)) : undefined;
  if (empty !== undefined) throw noContent(url, endpoint, empty, text);
}

/**
 * A chat message with neither text nor a tool call (`content: null`, or no `content`): the server
 * answered 200 with nothing in it. Only a tool call may leave `content` null.
 */
function isEmptyMessage(message: Json): boolean {
  if (typeof message.content === 'string') return false;
  const calls = message.tool_calls;
  if (Array.isArray(calls) && calls.length > 0) return false;
  return !isObject(message.function_call);
}

/**
 * The ANSWER_NO_CONTENT error: a 200 whose message holds no text and no tool call. The server's
 * fault (a template or reasoning parser that swallowed the text, a broken proxy), so it is retried
 * like any malformed answer instead of being stored as done with no answer.
 */
function noContent(url: string, endpoint: string, choice: Json, text: string): BackendError {
  const reason = typeof choice.finish_reason === 'string' ? ` (finish_reason "${choice.finish_reason}")` : '';
  return new BackendError(
    'ANSWER_NO_CONTENT',
    url,
    `${url} answered 200 to ${endpoint} with a message whose \`content\` is ${(choice.message as Json).content === null ? 'null' : 'missing'} and no tool call${reason}: no answer to store; received ${excerpt(text)}; if it persists, check the server's chat template and reasoning settings, or raise max_tokens when the answer was cut`,
    { retryable: true },
  );
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
