import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { OpenAiRequestError, parseChatRequest, parseCompletionRequest } from '../../src/embedded/embedded-openai.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';

const schema = { type: 'object', properties: { label: { enum: ['yes', 'no', 'maybe'] }, sure: { type: 'boolean' } }, required: ['label', 'sure'] };
const chat = { messages: [{ role: 'user', content: 'hi' }] };

describe("the embedded server reads the answer's JSON Schema where llama-server does", () => {
  it('from response_format json_schema, json_object (its schema, else any object) or its own json_schema field; text asks for none', () => {
    expect(parseChatRequest({ ...chat, response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }, 16).jsonSchema).toEqual(schema);
    expect(parseChatRequest({ ...chat, response_format: { type: 'json_object' } }, 16).jsonSchema).toEqual({ type: 'object' });
    expect(parseChatRequest({ ...chat, response_format: { type: 'json_object', schema } }, 16).jsonSchema).toEqual(schema);
    expect(parseCompletionRequest({ prompt: 'hi', json_schema: schema, response_format: { type: 'json_object' } }, 16).jsonSchema).toEqual(schema);
    expect(parseChatRequest({ ...chat, response_format: { type: 'text' } }, 16).jsonSchema).toBeUndefined();
    expect(parseChatRequest(chat, 16).jsonSchema).toBeUndefined();
  });

  it('refuses a response_format it cannot follow with a 400', () => {
    expect(() => parseChatRequest({ ...chat, response_format: { type: 'xml' } }, 16)).toThrow(OpenAiRequestError);
    expect(() => parseChatRequest({ ...chat, response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 16)).toThrow('expected `response_format.json_schema.schema` to be a JSON Schema object');
    expect(() => parseCompletionRequest({ prompt: 'hi', json_schema: 'x' }, 16)).toThrow('expected `json_schema` to be a JSON Schema object');
  });
});

describe('batch run --json-schema on the embedded server', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'batch-embedded-json-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('constrains generation with a grammar: a model of random weights answers JSON matching the schema, in chat and completions', async () => {
    const model = path.join(dir, 'tiny.gguf');
    await writeTinyLlamaGguf(model, { contextLength: 2048 });
    writeFileSync(path.join(dir, 'schema.json'), JSON.stringify(schema));
    const input = path.join(dir, 'prompts.jsonl');
    const lines = [0, 1].flatMap((i) => [
      JSON.stringify({ custom_id: `chat${i}`, method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: `question ${i}` }], max_tokens: 96 } }),
      JSON.stringify({ custom_id: `text${i}`, method: 'POST', url: '/v1/completions', body: { prompt: `question ${i}`, max_tokens: 96 } }),
    ]);
    writeFileSync(input, lines.join('\n') + '\n');
    const out = path.join(dir, 'out.jsonl');
    const result = await runCliInProcess(['run', input, '--model', model, '--threads', '1', '--slots', '2', '--ctx', '512', '--json-schema', path.join(dir, 'schema.json'), '--json-retries', '0', '--out', out, '-q'], {
      env: { BATCH_HOME: path.join(dir, 'home') },
    });
    const output = parseJsonl(readFileSync(out, 'utf8'));
    expect(output.map((line) => line.error), result.stderr).toEqual(output.map(() => null));
    expect(result.code).toBe(0);
    for (const line of output) {
      expect(['yes', 'no', 'maybe']).toContain(line.answer.label);
      expect(typeof line.answer.sure).toBe('boolean');
    }
  });
});
