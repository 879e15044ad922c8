import { describe, expect, it } from 'vitest';
import { parseJsonlLine } from '../../src/prompts/parse-jsonl-line.js';

const context = { source: 'q.jsonl:4', fallbackId: 'q.jsonl:4' };
const parse = (line: string) => parseJsonlLine(line, context);

describe('parseJsonlLine: simple format', () => {
  it('turns a prompt into a user message, prepends system and passes parameters through', () => {
    const line = '{"id": "a", "model": "llama3", "system": "Be brief.", "prompt": "Hi", "temperature": 0, "top_p": 0.9, "repeat_penalty": 1.1}';
    expect(parse(line)).toEqual({
      ok: true,
      customId: 'a',
      source: 'q.jsonl:4',
      endpoint: '/v1/chat/completions',
      body: {
        model: 'llama3',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
        ],
        temperature: 0,
        top_p: 0.9,
        repeat_penalty: 1.1,
      },
    });
  });

  it('keeps messages as given and does not add a second system message', () => {
    const messages = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U' },
    ];
    const result = parse(JSON.stringify({ id: 3, system: 'ignored', messages, max_tokens: 8 }));
    expect(result).toMatchObject({ ok: true, customId: '3', body: { messages, max_tokens: 8 } });
  });

  it('prepends system to messages that do not start with one', () => {
    const result = parse(JSON.stringify({ system: 'S', messages: [{ role: 'user', content: 'U' }] }));
    expect(result).toMatchObject({ ok: true, body: { messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }] } });
  });

  it('uses custom_id as an id and falls back to the location', () => {
    expect(parse('{"custom_id": "x-1", "prompt": "p"}')).toMatchObject({ ok: true, customId: 'x-1' });
    expect(parse('{"prompt": "p"}')).toMatchObject({ ok: true, customId: 'q.jsonl:4' });
  });
});

describe('parseJsonlLine: OpenAI Batch format', () => {
  it('accepts a chat line and passes the body through unchanged', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], max_completion_tokens: 5, logprobs: true };
    const result = parse(JSON.stringify({ custom_id: 'request-1', method: 'POST', url: '/v1/chat/completions', body }));
    expect(result).toEqual({ ok: true, customId: 'request-1', source: 'q.jsonl:4', endpoint: '/v1/chat/completions', body });
  });

  it('accepts a completions line', () => {
    const body = { prompt: 'Once upon a time', max_tokens: 5 };
    expect(parse(JSON.stringify({ custom_id: 'c', method: 'POST', url: '/v1/completions', body }))).toEqual({
      ok: true,
      customId: 'c',
      source: 'q.jsonl:4',
      endpoint: '/v1/completions',
      body,
    });
  });
});

describe('parseJsonlLine: bad lines', () => {
  const chat = { role: 'user', content: 'hi' };
  it.each([
    ['{"prompt": 42}', 'q.jsonl:4', 'expected `prompt` to be a string, got 42'],
    ['{"prompt": "  "}', 'q.jsonl:4', 'expected `prompt` to be a non-empty string, got "  "'],
    ['{"id": "a", "messages": "hi"}', 'a', 'expected `messages` to be an array of {"role", "content"} objects, got "hi"'],
    ['{"messages": []}', 'q.jsonl:4', 'expected `messages` to hold at least one message, got an empty array'],
    ['{"messages": [{"content": "hi"}]}', 'q.jsonl:4', 'expected `messages[0].role` to be a non-empty string such as "user", got nothing'],
    ['{"messages": [{"role": "user"}]}', 'q.jsonl:4', 'expected `messages[0].content` to be a string or an array of content parts, got nothing'],
    ['{"messages": ["hi"]}', 'q.jsonl:4', 'expected `messages[0]` to be an object with "role" and "content", got "hi"'],
    ['{"prompt": "p", "messages": []}', 'q.jsonl:4', 'expected either `prompt` or `messages`, got both; keep one'],
    ['{"id": "b", "text": "p"}', 'b', 'expected a "prompt" string or a "messages" array, got only "id", "text"'],
    ['{}', 'q.jsonl:4', 'expected a "prompt" string or a "messages" array, got an empty object'],
    ['{"id": true, "prompt": "p"}', 'q.jsonl:4', 'expected `id` to be a non-empty string or a number, got true'],
    ['{"prompt": "p", "temperature": "hot"}', 'q.jsonl:4', 'expected `temperature` to be a number, got "hot"'],
    ['{"prompt": "p", "max_tokens": 1.5}', 'q.jsonl:4', 'expected `max_tokens` to be a positive integer, got 1.5'],
    ['{"prompt": "p", "system": 1}', 'q.jsonl:4', 'expected `system` to be a string, got 1'],
    ['[1, 2]', 'q.jsonl:4', 'expected a JSON object with "prompt", "messages" or "custom_id" and "body", got an array'],
    ['"hello"', 'q.jsonl:4', 'expected a JSON object with "prompt", "messages" or "custom_id" and "body", got a string ("hello")'],
    ['12', 'q.jsonl:4', 'expected a JSON object with "prompt", "messages" or "custom_id" and "body", got a number (12)'],
    ['null', 'q.jsonl:4', 'expected a JSON object with "prompt", "messages" or "custom_id" and "body", got null'],
    [JSON.stringify({ method: 'POST', url: '/v1/chat/completions', body: {} }), 'q.jsonl:4', 'expected a `custom_id` string next to `body` (OpenAI Batch format), got none'],
    [JSON.stringify({ custom_id: 5, method: 'POST', url: '/v1/chat/completions', body: {} }), 'q.jsonl:4', 'expected `custom_id` to be a non-empty string, got 5'],
    [JSON.stringify({ custom_id: 'r', method: 'GET', url: '/v1/chat/completions', body: {} }), 'r', 'expected `method` to be "POST", got "GET"'],
    [JSON.stringify({ custom_id: 'r', method: 'POST', url: '/v1/embeddings', body: {} }), 'r', 'expected `url` to be "/v1/chat/completions" or "/v1/completions", got "/v1/embeddings"'],
    [JSON.stringify({ custom_id: 'r', method: 'POST', url: '/v1/chat/completions', body: [] }), 'r', 'expected `body` to be a JSON object, got an empty array'],
    [JSON.stringify({ custom_id: 'r', method: 'POST', url: '/v1/chat/completions', body: { prompt: 'p' } }), 'r', 'expected `body.messages` to be an array of {"role", "content"} objects, got nothing'],
    [JSON.stringify({ custom_id: 'r', method: 'POST', url: '/v1/completions', body: { messages: [chat] } }), 'r', 'expected `body.prompt` to be a string for /v1/completions, got nothing'],
    [JSON.stringify({ custom_id: 'r', method: 'POST', url: '/v1/chat/completions', body: { messages: [chat], model: 3 } }), 'r', 'expected `body.model` to be a non-empty string, got 3'],
  ])('%s', (line, customId, detail) => {
    expect(parse(line)).toEqual({ ok: false, customId, source: 'q.jsonl:4', message: `q.jsonl:4: ${detail}` });
  });

  it('says what JSON.parse said and shows the start of the line, shortened', () => {
    const line = `{"prompt": "${'x'.repeat(100)}"`;
    const result = parse(line);
    expect(result.ok).toBe(false);
    const message = (result as { message: string }).message;
    expect(message).toMatch(/^q\.jsonl:4: expected a JSON object, got malformed JSON \(.+\) in `\{"prompt": "x+…`$/);
    let reason = '';
    try {
      JSON.parse(line);
    } catch (error) {
      reason = (error as Error).message;
    }
    expect(message).toContain(reason);
    expect(message).toContain(`\`${line.slice(0, 60)}…\``);
  });
});
