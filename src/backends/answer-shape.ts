import { jsonSchemaProblem } from './json-schema-check.js';

/**
 * The JSON shape a request asks its answer to have, read from its OpenAI `response_format`:
 * `json_schema` (an object matching `schema`) or `json_object` (any JSON). `text`, or no
 * `response_format`, asks for no shape.
 */
export type AnswerShape =
  | { readonly kind: 'json_schema'; readonly name: string; readonly schema: Readonly<Record<string, unknown>> }
  | { readonly kind: 'json_object' };

/** What `readAnswerShape` found: a shape, none, or why the `response_format` is unusable. */
export type AnswerShapeReading =
  | { readonly ok: true; readonly shape: AnswerShape | undefined }
  | { readonly ok: false; readonly problem: string };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads a request body's `response_format` as OpenAI defines it:
 * `{"type":"json_schema","json_schema":{"name":…,"schema":{…},"strict":true}}`,
 * `{"type":"json_object"}` or `{"type":"text"}`. The schema must be valid draft 2020-12.
 */
export function readAnswerShape(body: Readonly<Json>): AnswerShapeReading {
  const format = body.response_format;
  if (format === undefined || format === null) return { ok: true, shape: undefined };
  if (!isObject(format)) return { ok: false, problem: `expected "response_format" to be an object such as {"type":"json_schema",…}, got ${JSON.stringify(format)}` };
  switch (format.type) {
    case 'text':
      return { ok: true, shape: undefined };
    case 'json_object':
      return { ok: true, shape: { kind: 'json_object' } };
    case 'json_schema': {
      const wrapper = format.json_schema;
      if (!isObject(wrapper) || !isObject(wrapper.schema)) {
        return { ok: false, problem: 'expected "response_format.json_schema.schema" to be a JSON Schema object, as in {"type":"json_schema","json_schema":{"name":"answer","schema":{…}}}' };
      }
      const problem = jsonSchemaProblem(wrapper.schema);
      if (problem !== undefined) return { ok: false, problem: `"response_format.json_schema.schema" is ${problem}` };
      return { ok: true, shape: { kind: 'json_schema', name: typeof wrapper.name === 'string' ? wrapper.name : 'answer', schema: wrapper.schema } };
    }
    default:
      return { ok: false, problem: `expected "response_format.type" to be "json_schema", "json_object" or "text", got ${JSON.stringify(format.type)}` };
  }
}

/** The shape a body asks for; a body whose `response_format` is unusable asks for none. */
export function answerShapeOf(body: Readonly<Json>): AnswerShape | undefined {
  const reading = readAnswerShape(body);
  return reading.ok ? reading.shape : undefined;
}

/**
 * The canonical `response_format` of a schema, OpenAI's: every flavour's adapter reads it from
 * here. `name` follows OpenAI's rule (letters, digits, `_` and `-`, at most 64).
 */
export function jsonSchemaResponseFormat(name: string, schema: Readonly<Json>): Json {
  const safe = name.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 64);
  return { type: 'json_schema', json_schema: { name: safe === '' ? 'answer' : safe, schema, strict: true } };
}
