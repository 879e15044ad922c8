import { describeValue, isJsonObject } from '../util/describe-value.js';

/**
 * Checks a chat `messages` array. Returns the problem as "expected …, got …", or undefined.
 * `field` is the name shown to the user (`messages` or `body.messages`).
 */
export function checkMessages(value: unknown, field: string): string | undefined {
  if (!Array.isArray(value)) {
    return `expected \`${field}\` to be an array of {"role", "content"} objects, got ${describeValue(value)}`;
  }
  if (value.length === 0) return `expected \`${field}\` to hold at least one message, got an empty array`;
  for (const [i, message] of value.entries()) {
    const name = `${field}[${i}]`;
    if (!isJsonObject(message)) {
      return `expected \`${name}\` to be an object with "role" and "content", got ${describeValue(message)}`;
    }
    const role = message.role;
    if (typeof role !== 'string' || role === '') {
      return `expected \`${name}.role\` to be a non-empty string such as "user", got ${describeValue(role)}`;
    }
    const content = message.content;
    // An assistant turn that only carries tool calls has no content; every other turn needs some.
    const mayBeEmpty = role === 'assistant' && (content === undefined || content === null);
    if (!mayBeEmpty && typeof content !== 'string' && !Array.isArray(content)) {
      return `expected \`${name}.content\` to be a string or an array of content parts, got ${describeValue(content)}`;
    }
  }
  return undefined;
}

type ParamCheck = (value: unknown) => string | undefined;

const isNumber = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);

const number: ParamCheck = (value) => (isNumber(value) ? undefined : 'a number');
const integer: ParamCheck = (value) => (Number.isInteger(value) ? undefined : 'an integer');
const positiveInteger: ParamCheck = (value) =>
  Number.isInteger(value) && (value as number) > 0 ? undefined : 'a positive integer';
const nonEmptyString: ParamCheck = (value) => (typeof value === 'string' && value !== '' ? undefined : 'a non-empty string');
const string: ParamCheck = (value) => (typeof value === 'string' ? undefined : 'a string');
const stop: ParamCheck = (value) =>
  typeof value === 'string' || (Array.isArray(value) && value.every((s) => typeof s === 'string'))
    ? undefined
    : 'a string or a list of strings';

const boolean: ParamCheck = (value) => (typeof value === 'boolean' ? undefined : 'true or false');
const object: ParamCheck = (value) => (isJsonObject(value) ? undefined : 'an object');
const responseFormat: ParamCheck = (value) =>
  isJsonObject(value) && typeof value.type === 'string' ? undefined : 'an object with a "type" ("json_object", "json_schema" or "text")';
const jsonSchema: ParamCheck = (value) =>
  isJsonObject(value) || (typeof value === 'string' && value !== '') ? undefined : 'a JSON Schema object, or the path of a schema file relative to the prompt file';
const toolChoice: ParamCheck = (value) => (typeof value === 'string' || isJsonObject(value) ? undefined : 'a string or an object');
const array: ParamCheck = (value) => (Array.isArray(value) ? undefined : 'an array');

/**
 * Types of the request fields `batch` itself understands: the OpenAI chat request's sampling
 * fields and the extensions llama-server and Ollama's OpenAI API accept. In JSONL bodies other keys
 * go to the server unchecked (servers judge their own extensions best); front matter accepts
 * exactly these keys (FRONT_MATTER_KEYS), so that a typo there is caught.
 */
const PARAM_CHECKS: Readonly<Record<string, ParamCheck>> = {
  model: nonEmptyString,
  system: string,
  temperature: number,
  top_p: number,
  top_k: integer,
  min_p: number,
  typical_p: number,
  presence_penalty: number,
  frequency_penalty: number,
  repeat_penalty: number,
  repeat_last_n: integer,
  max_tokens: positiveInteger,
  max_completion_tokens: positiveInteger,
  n: positiveInteger,
  seed: integer,
  stop,
  response_format: responseFormat,
  json_schema: jsonSchema,
  grammar: string,
  logit_bias: object,
  logprobs: boolean,
  top_logprobs: integer,
  mirostat: integer,
  mirostat_tau: number,
  mirostat_eta: number,
  tools: array,
  tool_choice: toolChoice,
  parallel_tool_calls: boolean,
  reasoning_effort: nonEmptyString,
  user: string,
};

/**
 * The keys a prompt file's front matter may set: `model`, `system` (the system prompt),
 * `json_schema` (made the request's `response_format`), every request parameter above, and
 * `priority` (the order of sending; not sent).
 */
export const FRONT_MATTER_KEYS: readonly string[] = [...Object.keys(PARAM_CHECKS), 'priority'];

/** Checks one request field by name. Returns "expected `key` to be …, got …", or undefined. */
export function checkParam(key: string, value: unknown, field: string = key): string | undefined {
  const check = PARAM_CHECKS[key];
  if (check === undefined) return undefined;
  const expected = check(value);
  return expected === undefined ? undefined : `expected \`${field}\` to be ${expected}, got ${describeValue(value)}`;
}
