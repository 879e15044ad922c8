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

/**
 * Types of the request fields `batch` itself understands. Other keys go to the server unchecked:
 * servers accept many extensions (`min_p`, `repeat_penalty`, `grammar`, …) and judge them best.
 */
const PARAM_CHECKS: Readonly<Record<string, ParamCheck>> = {
  model: nonEmptyString,
  system: string,
  temperature: number,
  top_p: number,
  top_k: integer,
  min_p: number,
  presence_penalty: number,
  frequency_penalty: number,
  max_tokens: positiveInteger,
  max_completion_tokens: positiveInteger,
  n: positiveInteger,
  seed: integer,
  stop,
};

/** The fields that have a type check, for front matter (which accepts only some of them). */
export function isCheckedParam(key: string): boolean {
  return Object.hasOwn(PARAM_CHECKS, key);
}

/** Checks one request field by name. Returns "expected `key` to be …, got …", or undefined. */
export function checkParam(key: string, value: unknown, field: string = key): string | undefined {
  const check = PARAM_CHECKS[key];
  if (check === undefined) return undefined;
  const expected = check(value);
  return expected === undefined ? undefined : `expected \`${field}\` to be ${expected}, got ${describeValue(value)}`;
}
