import { describe, expect, it } from 'vitest';
import { parseFrontMatter } from '../../src/prompts/parse-front-matter.js';
import { FRONT_MATTER_KEYS } from '../../src/prompts/check-request-fields.js';

function fieldsOf(text: string): unknown {
  const parsed = parseFrontMatter(text);
  if (!parsed.ok) throw new Error(`line ${parsed.line}: ${parsed.detail}`);
  return parsed.fields;
}

describe('parseFrontMatter', () => {
  it('returns the whole text when there is no front matter', () => {
    expect(parseFrontMatter('Just a prompt\n---\nwith a rule')).toEqual({ ok: true, fields: {}, keyLines: {}, body: 'Just a prompt\n---\nwith a rule', bodyLine: 1 });
  });

  it('reads plain, quoted and numeric values, with the line of each key and of the body', () => {
    const text = [
      '---',
      'model: qwen2.5:7b',
      "system: 'It''s a reviewer: be brief.'",
      'temperature: 0',
      'max_tokens: 64 # keep it short',
      'seed: -3',
      'stop: "\\n\\n"',
      '---',
      'The prompt',
    ].join('\n');
    expect(parseFrontMatter(text)).toEqual({
      ok: true,
      fields: { model: 'qwen2.5:7b', system: "It's a reviewer: be brief.", temperature: 0, max_tokens: 64, seed: -3, stop: '\n\n' },
      keyLines: { model: 2, system: 3, temperature: 4, max_tokens: 5, seed: 6, stop: 7 },
      body: 'The prompt',
      bodyLine: 9,
    });
  });

  it('reads block scalars for long system prompts', () => {
    const text = '---\nsystem: |\n  You review code.\n  Be brief.\ntop_p: 0.9\n---\nP';
    expect(fieldsOf(text)).toEqual({ system: 'You review code.\nBe brief.\n', top_p: 0.9 });
    expect(fieldsOf('---\nsystem: >-\n  one\n  line\n---\nP')).toEqual({ system: 'one line' });
  });

  it('accepts every request parameter the request takes, objects and lists included', () => {
    const text = [
      '---',
      'top_p: 0.5',
      'top_k: 40',
      'min_p: 0.05',
      'repeat_penalty: 1.1',
      'presence_penalty: 0.2',
      'response_format:',
      '  type: json_object',
      'logit_bias: {"15": -100}',
      'stop:',
      '  - "```"',
      '  - END',
      '---',
      'P',
    ].join('\n');
    expect(fieldsOf(text)).toEqual({
      top_p: 0.5,
      top_k: 40,
      min_p: 0.05,
      repeat_penalty: 1.1,
      presence_penalty: 0.2,
      response_format: { type: 'json_object' },
      logit_bias: { '15': -100 },
      stop: ['```', 'END'],
    });
    expect(fieldsOf('---\njson_schema:\n  type: object\n  required: [title]\n---\nP')).toEqual({ json_schema: { type: 'object', required: ['title'] } });
    expect(fieldsOf('---\njson_schema: schemas/answer.json\n---\nP')).toEqual({ json_schema: 'schemas/answer.json' });
  });

  it('reads CRLF files and skips comments', () => {
    expect(parseFrontMatter('---\r\nstop: [END, "a, b", \'x\']\r\n# note\r\n---\r\nP')).toMatchObject({ ok: true, fields: { stop: ['END', 'a, b', 'x'] }, body: 'P' });
    expect(parseFrontMatter('---\n# only a comment\n---\nP')).toMatchObject({ ok: true, fields: {}, body: 'P' });
  });

  it.each([
    ['---\ntemperature: 0\ntemperature: hot\n---\nP', 3, /^expected YAML `key: value` lines, got Map keys must be unique/],
    ['---\nmax_tokens: 64\ntemperature: hot\n---\nP', 3, /^expected `temperature` to be a number, got "hot"$/],
    ['---\nmax_tokens: 0\n---\nP', 2, /^expected `max_tokens` to be a positive integer, got 0$/],
    ['---\nseed: 1.5\n---\nP', 2, /^expected `seed` to be an integer, got 1.5$/],
    ['---\nstop: [1, 2]\n---\nP', 2, /^expected `stop` to be a string or a list of strings, got an array$/],
    ['---\nsystem: [a]\n---\nP', 2, /^expected `system` to be a string, got an array$/],
    ['---\nsystem:\n---\nP', 2, /^expected `system` to be a string, got null$/],
    ['---\nresponse_format: json\n---\nP', 2, /^expected `response_format` to be an object with a "type"/],
    ['---\njson_schema: 3\n---\nP', 2, /^expected `json_schema` to be a JSON Schema object, or the path/],
    ['---\njson_schema: {type: object}\nresponse_format: {type: json_object}\n---\nP', 2, /^expected `json_schema` or `response_format`, got both \(`response_format` on line 3\)/],
    ['---\njust words\n---\nP', 2, /^expected `key: value` lines, got "just words"$/],
    ['---\n- x\n---\nP', 2, /^expected `key: value` lines, got an array$/],
    ['---\nstop: [a, b\n---\nP', 2, /^expected YAML `key: value` lines, got /],
    ['---\nseed: 1\nP', 1, /^expected a closing `---` line to end the front matter, got the end of the file$/],
  ])('reports %j on line %i', (text, line, detail) => {
    const parsed = parseFrontMatter(text);
    expect(parsed).toMatchObject({ ok: false, line });
    expect((parsed as { detail: string }).detail).toMatch(detail);
  });

  it('says how to quote a value YAML cannot read as it is', () => {
    const parsed = parseFrontMatter("---\nsystem: It's: tricky\n---\nP");
    expect(parsed).toEqual({ ok: false, line: 2, detail: "expected YAML `key: value` lines, got Nested mappings are not allowed in compact mappings; put a value that holds `: ` or starts with [ { & * ! | > ' \" % @ in quotes" });
  });

  it('names the accepted keys when a key is unknown', () => {
    const parsed = parseFrontMatter('---\n\ntemprature: 0\n---\nP');
    expect(parsed).toEqual({ ok: false, line: 3, detail: `expected one of the keys ${FRONT_MATTER_KEYS.join(', ')}, got \`temprature\`` });
    expect(FRONT_MATTER_KEYS).toEqual(expect.arrayContaining(['model', 'system', 'top_p', 'response_format', 'json_schema', 'repeat_penalty', 'seed', 'stop']));
  });
});
