import { AppError } from '../errors.js';
import { answerShapeOf, type AnswerShape } from './answer-shape.js';
import { schemaMismatch } from './json-schema-check.js';

type Json = Record<string, unknown>;

/** Characters of an unparsable answer quoted in the message. */
const quotedChars = 80;

/** A parsed answer that has the shape its request asked for. */
export interface CheckedAnswer {
  /** The answer text parsed as JSON. */
  readonly answer: unknown;
}

/**
 * Parses and checks an answer against the JSON shape its request asked for (`response_format`):
 * `json_object` must parse as JSON, `json_schema` must also match the schema (draft 2020-12).
 * Returns undefined when the request asks for no shape. Throws `ANSWER_INVALID` naming the
 * validator's first errors (instance path and message), or the JSON syntax error and the text.
 */
export function validateAnswer(requestBody: Readonly<Json>, responseBody: Readonly<Json>): CheckedAnswer | undefined {
  const shape = answerShapeOf(requestBody);
  if (shape === undefined) return undefined;
  const text = answerText(responseBody);
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch (error) {
    const quoted = text.length > quotedChars ? `${text.slice(0, quotedChars)}…` : text;
    throw new AppError('ANSWER_INVALID', `the answer is not JSON (${(error as Error).message}): ${JSON.stringify(quoted)}; the request asks for ${describeShape(shape)}`);
  }
  if (shape.kind === 'json_schema') {
    const mismatch = schemaMismatch(shape.schema, answer);
    if (mismatch !== undefined) throw new AppError('ANSWER_INVALID', `the answer does not match JSON Schema "${shape.name}": ${mismatch}`);
  }
  return { answer };
}

function describeShape(shape: AnswerShape): string {
  return shape.kind === 'json_schema' ? `JSON matching schema "${shape.name}"` : 'a JSON object (response_format json_object)';
}

/** The answer's text: `choices[0].message.content` (chat) or `choices[0].text`; '' when absent. */
function answerText(body: Readonly<Json>): string {
  const first: unknown = Array.isArray(body.choices) ? body.choices[0] : undefined;
  if (typeof first !== 'object' || first === null) return '';
  const { message, text } = first as { message?: { content?: unknown }; text?: unknown };
  if (typeof message?.content === 'string') return message.content;
  return typeof text === 'string' ? text : '';
}
