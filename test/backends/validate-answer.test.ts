import { describe, expect, it } from 'vitest';
import { jsonSchemaResponseFormat, readAnswerShape } from '../../src/backends/answer-shape.js';
import { jsonSchemaProblem } from '../../src/backends/json-schema-check.js';
import { validateAnswer } from '../../src/backends/validate-answer.js';
import { AppError } from '../../src/errors.js';

const schema = { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'array', items: { type: 'string' } } }, required: ['a'], additionalProperties: false };
const request = { response_format: jsonSchemaResponseFormat('shape', schema) };
const completion = (text: string) => ({ object: 'text_completion', choices: [{ index: 0, text }] });

function failure(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    return error as AppError;
  }
  throw new Error('expected a failure');
}

describe('readAnswerShape', () => {
  it("reads OpenAI's json_schema, json_object and text; no response_format asks for no shape", () => {
    expect(readAnswerShape(request)).toEqual({ ok: true, shape: { kind: 'json_schema', name: 'shape', schema } });
    expect(readAnswerShape({ response_format: { type: 'json_object' } })).toEqual({ ok: true, shape: { kind: 'json_object' } });
    expect(readAnswerShape({ response_format: { type: 'text' } })).toEqual({ ok: true, shape: undefined });
    expect(readAnswerShape({})).toEqual({ ok: true, shape: undefined });
  });

  it('says what is wrong with an unusable response_format', () => {
    expect(readAnswerShape({ response_format: 'json' })).toMatchObject({ ok: false, problem: expect.stringContaining('expected "response_format" to be an object') });
    expect(readAnswerShape({ response_format: { type: 'xml' } })).toMatchObject({ ok: false, problem: expect.stringContaining('got "xml"') });
    expect(readAnswerShape({ response_format: { type: 'json_schema', json_schema: { name: 'x' } } })).toMatchObject({ ok: false, problem: expect.stringContaining('"response_format.json_schema.schema" to be a JSON Schema object') });
    expect(readAnswerShape({ response_format: { type: 'json_schema', json_schema: { schema: { $ref: '#/$defs/none' } } } })).toMatchObject({ ok: false, problem: expect.stringContaining("can't resolve reference #/$defs/none") });
  });

  it('names the schema as OpenAI allows (letters, digits, _ and -, at most 64)', () => {
    expect(jsonSchemaResponseFormat('My ticket (v2)', {})).toEqual({ type: 'json_schema', json_schema: { name: 'My_ticket_v2', schema: {}, strict: true } });
    expect((jsonSchemaResponseFormat('é', {}).json_schema as { name: string }).name).toBe('answer');
  });
});

describe('jsonSchemaProblem', () => {
  it('accepts draft 2020-12 schemas with unknown keywords and formats; refuses non-objects', () => {
    expect(jsonSchemaProblem({ type: 'object', properties: { at: { type: 'string', format: 'date-time' } }, 'x-vendor': 1, prefixItems: [{ type: 'string' }] })).toBeUndefined();
    expect(jsonSchemaProblem([])).toBe('expected a JSON Schema object, got an array');
    expect(jsonSchemaProblem({ type: 'objekt' })).toContain('/type: must be equal to one of the allowed values');
  });
});

describe('validateAnswer', () => {
  it('returns the parsed answer of a completion (choices[0].text) that matches', () => {
    expect(validateAnswer(request, completion('{"a": 1, "b": ["x"]}'))).toEqual({ answer: { a: 1, b: ['x'] } });
  });

  it('names the first errors with their instance paths, and counts the rest', () => {
    const error = failure(() => validateAnswer(request, completion('{"b": [1, 2, 3], "c": 0, "d": 0}')));
    expect(error.code).toBe('ANSWER_INVALID');
    expect(error.message).toBe(`the answer does not match JSON Schema "shape": /: must have required property 'a'; /: must NOT have additional properties; /b/0: must be string (and 2 more)`);
  });

  it('quotes the start of an answer that is not JSON', () => {
    const error = failure(() => validateAnswer(request, completion(`Here you go: ${'x'.repeat(200)}`)));
    expect(error.message).toMatch(/^the answer is not JSON \(Unexpected token .*\): "Here you go: x+…"; the request asks for JSON matching schema "shape"$/);
  });
});
