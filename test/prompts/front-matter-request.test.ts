import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readPrompts } from '../../src/prompts/read-prompts.js';
import { collect, makeTempDir, summarize, type TempDir } from './temp-dir.js';

let tmp: TempDir;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => {
  tmp.remove();
});

const schema = { type: 'object', properties: { label: { type: 'string' } }, required: ['label'] };
const responseFormat = { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } };

describe('front matter in requests', () => {
  it('sends json_schema (inline YAML, or a file relative to the prompt file) as response_format in OpenAI form', async () => {
    tmp.write('in/inline.md', '---\njson_schema:\n  type: object\n  properties:\n    label: {type: string}\n  required: [label]\ntemperature: 0\n---\nLabel it');
    tmp.write('in/sub/file.md', '---\njson_schema: ../../schemas/label.json\n---\nLabel it');
    tmp.write('schemas/label.json', JSON.stringify(schema));
    const records = await collect(readPrompts(['in'], { cwd: tmp.dir }));
    expect(records.map((record) => (record.ok ? record.item.body : record.invalid.message))).toEqual([
      { messages: [{ role: 'user', content: 'Label it' }], response_format: responseFormat, temperature: 0 },
      { messages: [{ role: 'user', content: 'Label it' }], response_format: responseFormat },
    ]);
  });

  it('fails the prompt, naming the json_schema line, when the schema file is missing or not JSON', async () => {
    tmp.write('in/missing.md', '---\ntemperature: 0\njson_schema: nope.json\n---\nP');
    tmp.write('in/bad.md', '---\njson_schema: bad.json\n---\nP');
    tmp.write('in/bad.json', '{"type": ');
    tmp.write('in/list.md', '---\njson_schema: list.json\n---\nP');
    tmp.write('in/list.json', '[1]');
    const records = await collect(readPrompts(['in/missing.md', 'in/bad.md', 'in/list.md'], { cwd: tmp.dir }));
    const messages = summarize(records);
    expect(messages[0]).toMatch(/^!in\/missing\.md:3: cannot read the schema file "nope\.json" \(ENOENT, looked for .*nope\.json\); give a path relative to the prompt file$/);
    expect(messages[1]).toMatch(/^!in\/bad\.md:2: expected the schema file "bad\.json" to hold JSON, got /);
    expect(messages[2]).toBe('!in/list.md:2: expected `json_schema` to be a JSON Schema object, got an array');
  });
});
