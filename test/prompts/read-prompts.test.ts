import { linkSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PromptError, UsageError } from '../../src/errors.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import { readPrompts, requestModel } from '../../src/prompts/read-prompts.js';
import { collect, makeTempDir, streamOf, summarize, type TempDir } from './temp-dir.js';

let tmp: TempDir;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => {
  tmp.remove();
});

const read = (inputs: string[], extra: { stdin?: NodeJS.ReadableStream; checkDuplicates?: boolean } = {}) =>
  collect(readPrompts(inputs, { cwd: tmp.dir, ...extra }));

const items = (records: Awaited<ReturnType<typeof read>>): PromptItem[] =>
  records.map((r) => {
    if (!r.ok) throw new Error(`unexpected invalid record: ${r.invalid.message}`);
    return r.item;
  });

async function thrown(promise: Promise<unknown>): Promise<PromptError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PromptError);
  return error as PromptError;
}

describe('readPrompts: folders', () => {
  it('reads .txt/.md files recursively in name order, with front matter, skipping dot-files, node_modules and other files', async () => {
    tmp.write('in/b.txt', 'Second\n');
    tmp.write('in/a.md', '---\nsystem: Be brief.\ntemperature: 0\nmax_tokens: 16\nseed: 3\nstop: [END]\n---\n\nFirst prompt\n');
    tmp.write('in/notes/c.md', 'Nested');
    tmp.write('in/notes/readme.rst', 'not a prompt');
    tmp.write('in/.hidden.md', 'hidden');
    tmp.write('in/.git/x.md', 'hidden');
    tmp.write('in/node_modules/pkg/x.md', 'dependency');
    const [a, b, c, ...rest] = items(await read(['in']));
    expect(rest).toEqual([]);
    expect(a).toEqual({
      customId: 'a.md',
      index: 0,
      priority: 0,
      source: 'in/a.md',
      endpoint: '/v1/chat/completions',
      body: {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'First prompt' },
        ],
        temperature: 0,
        max_tokens: 16,
        seed: 3,
        stop: ['END'],
      },
    });
    expect(b).toMatchObject({ customId: 'b.txt', index: 1, source: 'in/b.txt', body: { messages: [{ role: 'user', content: 'Second' }] } });
    expect(c).toMatchObject({ customId: 'notes/c.md', index: 2, source: 'in/notes/c.md' });
  });

  it('reads .jsonl files found in a folder, with ids relative to the folder', async () => {
    tmp.write('in/a.md', 'A');
    tmp.write('in/sub/q.jsonl', '{"prompt": "no id"}\n{"id": "named", "prompt": "p"}\n');
    const records = await read(['./in/']);
    expect(items(records).map((i) => [i.customId, i.source])).toEqual([
      ['a.md', 'in/a.md'],
      ['sub/q.jsonl:1', 'in/sub/q.jsonl:1'],
      ['named', 'in/sub/q.jsonl:2'],
    ]);
  });

  it('follows a symbolic link to a folder once, without looping', async () => {
    tmp.write('in/real/a.md', 'A');
    symlinkSync(path.join(tmp.dir, 'in'), path.join(tmp.dir, 'in/real/loop'));
    expect(summarize(await read(['in']))).toEqual(['real/a.md']);
  });

  it('reads an empty folder as no prompts', async () => {
    mkdirSync(path.join(tmp.dir, 'empty'));
    expect(await read(['empty'])).toEqual([]);
  });
});

describe('readPrompts: files, globs and stdin', () => {
  it('reads a .txt file as one prompt named by its path relative to cwd', async () => {
    tmp.write('p/one.txt', 'Hello');
    expect(items(await read(['p/one.txt']))).toEqual([
      { customId: 'p/one.txt', index: 0, source: 'p/one.txt', endpoint: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'Hello' }] }, priority: 0 },
    ]);
    // An absolute path inside cwd still gets the relative id.
    expect(items(await read([path.join(tmp.dir, 'p/one.txt')]))[0]!.customId).toBe('p/one.txt');
  });

  it.each(['q.jsonl', 'q.ndjson', 'q.json-lines'])('reads %s as JSONL with file:line ids and sources', async (name) => {
    tmp.write(name, '\n{"prompt": "a"}\r\n\r\n{"id": 5, "prompt": "b"}');
    expect(items(await read([name])).map((i) => [i.customId, i.source])).toEqual([
      [`${name}:2`, `${name}:2`],
      ['5', `${name}:4`],
    ]);
  });

  it('reads both JSONL formats mixed in one file', async () => {
    tmp.write('mixed.jsonl', [
      '{"id": "s", "prompt": "simple"}',
      '{"custom_id": "o", "method": "POST", "url": "/v1/completions", "body": {"prompt": "openai", "max_tokens": 3}}',
    ].join('\n'));
    expect(items(await read(['mixed.jsonl'])).map((i) => [i.customId, i.endpoint, i.body])).toEqual([
      ['s', '/v1/chat/completions', { messages: [{ role: 'user', content: 'simple' }] }],
      ['o', '/v1/completions', { prompt: 'openai', max_tokens: 3 }],
    ]);
  });

  it('expands a glob that does not exist literally, in path order', async () => {
    tmp.write('data/b/x.md', 'X');
    tmp.write('data/a.jsonl', '{"prompt": "j"}\n');
    tmp.write('data/a/y.txt', 'Y');
    tmp.write('data/a/skip.csv', 'no');
    const records = await read(['data/**/*']);
    expect(items(records).map((i) => [i.customId, i.source])).toEqual([
      ['data/a.jsonl:1', 'data/a.jsonl:1'],
      ['data/a/y.txt', 'data/a/y.txt'],
      ['data/b/x.md', 'data/b/x.md'],
    ]);
    expect(summarize(await read(['data/?/*.md']))).toEqual(['data/b/x.md']);
  });

  it('reads `-` as JSONL from stdin with stdin:<line> sources', async () => {
    const stdin = streamOf('{"prompt": "a"}\n{"id": "b", "pro', 'mpt": "b"}\n');
    expect(items(await read(['-'], { stdin })).map((i) => [i.customId, i.source])).toEqual([
      ['stdin:1', 'stdin:1'],
      ['b', 'stdin:2'],
    ]);
  });

  it('numbers records across all inputs in the order given, invalid ones included', async () => {
    tmp.write('f/one.md', 'one');
    tmp.write('f/two.md', '');
    tmp.write('q.jsonl', '{"prompt": "three"}\n{"prompt": 4}\n');
    const stdin = streamOf('{"id": "five", "prompt": "5"}\n');
    const records = await read(['q.jsonl', '-', 'f'], { stdin });
    expect(records.map((r) => (r.ok ? [r.item.index, r.item.customId] : [r.invalid.index, r.invalid.customId]))).toEqual([
      [0, 'q.jsonl:1'],
      [1, 'q.jsonl:2'],
      [2, 'five'],
      [3, 'one.md'],
      [4, 'two.md'],
    ]);
  });

  it('exposes the requested model', async () => {
    tmp.write('q.jsonl', '{"model": "llama3", "prompt": "a"}\n{"prompt": "b"}\n{"model": "", "prompt": "c"}\n');
    const records = await read(['q.jsonl']);
    expect(records.map((r) => (r.ok ? requestModel(r.item) : r.invalid.message))).toEqual([
      'llama3',
      undefined,
      'q.jsonl:3: expected `model` to be a non-empty string, got ""',
    ]);
  });
});

describe('readPrompts: bad content is recorded and reading goes on', () => {
  it('records every kind of bad JSONL line with its location and reads the lines after it', async () => {
    const lines = [
      '{"id": "ok-1", "prompt": "fine"}',
      '{"prompt": "unterminated',
      '[1, 2]',
      '{"id": "no-prompt"}',
      '{"prompt": 42}',
      '{"messages": "hi"}',
      '{"messages": [{"content": "no role"}]}',
      '{"custom_id": "r-1", "method": "POST", "url": "/v1/embeddings", "body": {"input": "x"}}',
      '{"id": "ok-2", "prompt": "also fine"}',
    ];
    const bytes = Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d, 0x0a]), Buffer.from('{"id": "ok-3", "prompt": "last"}\n')]);
    tmp.write('bad.jsonl', bytes);
    const records = await read(['bad.jsonl']);
    expect(records.map((r) => (r.ok ? r.item.customId : [r.invalid.customId, r.invalid.message.replace(/\(.*\)/, '(…)')]))).toEqual([
      'ok-1',
      ['bad.jsonl:2', 'bad.jsonl:2: expected a JSON object, got malformed JSON (…) in `{"prompt": "unterminated`'],
      ['bad.jsonl:3', 'bad.jsonl:3: expected a JSON object with "prompt", "messages" or "custom_id" and "body", got an array'],
      ['no-prompt', 'bad.jsonl:4: expected a "prompt" string or a "messages" array, got only "id"'],
      ['bad.jsonl:5', 'bad.jsonl:5: expected `prompt` to be a string, got 42'],
      ['bad.jsonl:6', 'bad.jsonl:6: expected `messages` to be an array of {"role", "content"} objects, got "hi"'],
      ['bad.jsonl:7', 'bad.jsonl:7: expected `messages[0].role` to be a non-empty string such as "user", got nothing'],
      ['r-1', 'bad.jsonl:8: expected `url` to be "/v1/chat/completions" or "/v1/completions", got "/v1/embeddings"'],
      'ok-2',
      ['bad.jsonl:10', 'bad.jsonl:10: expected UTF-8 text, got invalid byte 0xff at byte 3; re-save the file as UTF-8'],
      'ok-3',
    ]);
    expect(records.map((r) => (r.ok ? r.item.index : r.invalid.index))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('records empty, whitespace-only, binary, non-UTF-8 and bad-front-matter prompt files and reads the rest', async () => {
    tmp.write('in/a-empty.md', '');
    tmp.write('in/b-blank.txt', ' \n\n');
    tmp.write('in/c-binary.txt', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]));
    tmp.write('in/d-latin1.md', Buffer.concat([Buffer.from('line one\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    tmp.write('in/e-front.md', '---\nmax_tokens: 8\ntemperature: hot\n---\nPrompt');
    tmp.write('in/f-only-front.md', '---\nseed: 1\n---\n\n');
    tmp.write('in/g-good.md', 'Good');
    const records = await read(['in']);
    expect(records.map((r) => (r.ok ? r.item.customId : [r.invalid.customId, r.invalid.source, r.invalid.message]))).toEqual([
      ['a-empty.md', 'in/a-empty.md', 'in/a-empty.md: expected a prompt, got an empty file'],
      ['b-blank.txt', 'in/b-blank.txt', 'in/b-blank.txt: expected a prompt, got an empty file'],
      ['c-binary.txt', 'in/c-binary.txt', 'in/c-binary.txt: expected a text file, got binary data (it contains NUL bytes); save prompts as UTF-8 text'],
      ['d-latin1.md', 'in/d-latin1.md', 'in/d-latin1.md:2: expected UTF-8 text, got invalid byte 0xe9 at byte 4; re-save the file as UTF-8'],
      ['e-front.md', 'in/e-front.md', 'in/e-front.md:3: expected `temperature` to be a number, got "hot"'],
      ['f-only-front.md', 'in/f-only-front.md', 'in/f-only-front.md: expected a prompt after the front matter, got only the front matter'],
      'g-good.md',
    ]);
  });
});

describe('readPrompts: input errors throw before anything is sent', () => {
  it('refuses a path or glob that matches nothing, before yielding any record', async () => {
    tmp.write('real.jsonl', '{"prompt": "a"}\n');
    const expected = 'no such file or folder; expected a folder of .txt/.md prompts, a .jsonl file, a glob, or - for stdin';
    for (const input of ['missing.jsonl', 'nothing/**/*.md', 'real.jsonl/x']) {
      const iterator = readPrompts(['real.jsonl', input], { cwd: tmp.dir })[Symbol.asyncIterator]();
      const error = await thrown(iterator.next());
      expect(error.code).toBe('PROMPT_FILE_INVALID');
      expect(error.exitCode).toBe(2);
      expect(error.message).toBe(`${input}: ${expected}`);
    }
  });

  it('refuses a file of an unknown type', async () => {
    tmp.write('list.json', '[]');
    const error = await thrown(read(['list.json']));
    expect(error.code).toBe('PROMPT_FILE_INVALID');
    expect(error.message).toMatch(/^list\.json: expected a \.txt, \.md, \.jsonl, \.ndjson, \.json-lines file or a folder, got a file with \.json \(a JSON array\?/);
  });

  it('refuses duplicate custom_ids, naming both places, across files and formats', async () => {
    tmp.write('a.jsonl', '{"prompt": "x"}\n\n{"id": "dup", "prompt": "first"}\n');
    tmp.write('b.jsonl', '{"custom_id": "dup", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}}\n');
    const error = await thrown(read(['a.jsonl', 'b.jsonl']));
    expect(error.code).toBe('DUPLICATE_CUSTOM_ID');
    expect(error.location).toBe('b.jsonl:1');
    expect(error.message).toBe('b.jsonl:1: duplicate custom_id "dup" (first at a.jsonl:3); custom_ids must be unique within a job: rename one');
  });

  it('refuses the same file given twice as given twice, not as a duplicate of itself; allows it when told not to check', async () => {
    tmp.write('a.jsonl', '{"prompt": "x"}\n');
    const error = await thrown(read(['a.jsonl', 'a.jsonl']));
    expect(error.code).toBe('DUPLICATE_INPUT');
    expect(error.message).toBe('a.jsonl: given twice ("a.jsonl" twice); its prompts would be read twice: give each file once');
    expect(await read(['a.jsonl', 'a.jsonl'], { checkDuplicates: false })).toHaveLength(2);
  });

  it('refuses one file reached twice: by two spellings, a symbolic link, its folder or a glob', async () => {
    tmp.write('p/a.jsonl', '{"prompt": "x"}\n');
    tmp.write('p/q.txt', 'question\n');
    tmp.write('p/.hidden/h.jsonl', '{"prompt": "h"}\n');
    symlinkSync(path.join(tmp.dir, 'p/a.jsonl'), path.join(tmp.dir, 'link.jsonl'));
    const twice = async (inputs: string[]): Promise<string> => {
      const error = await thrown(read(inputs));
      expect(error.code).toBe('DUPLICATE_INPUT');
      return error.message;
    };
    expect(await twice(['p/a.jsonl', './p//a.jsonl'])).toBe('./p//a.jsonl: given twice: as "p/a.jsonl" and as "./p//a.jsonl"; its prompts would be read twice: give each file once');
    expect(await twice(['p/a.jsonl', 'link.jsonl'])).toContain('as "p/a.jsonl" and as "link.jsonl"');
    // A hard link is another name for the same file.
    linkSync(path.join(tmp.dir, 'p/a.jsonl'), path.join(tmp.dir, 'hard.jsonl'));
    expect(await twice(['p/a.jsonl', 'hard.jsonl'])).toContain('as "p/a.jsonl" and as "hard.jsonl"');
    expect(await twice(['p', 'p/q.txt'])).toContain('as the folder "p" and as "p/q.txt"');
    expect(await twice(['p/q.txt', 'p'])).toContain('as "p/q.txt" and as the folder "p"');
    expect(await twice(['p', "p/*.jsonl"])).toContain('as the folder "p" and as "p/*.jsonl"');
    // The folder reader skips dot-folders, so a file in one is read once.
    expect(await read(['p', 'p/.hidden/h.jsonl'])).toHaveLength(3);
  });

  it('refuses `-` twice or without a stdin stream, and bad options', async () => {
    expect(() => readPrompts(['-', '-'], { cwd: tmp.dir, stdin: streamOf('') })).toThrow(PromptError);
    expect(() => readPrompts(['-'], { cwd: tmp.dir })).toThrow('expected `stdin` to be a readable stream for the input `-`, got nothing');
    expect(() => readPrompts(['x'], { cwd: 'relative' })).toThrow('expected `cwd` to be an absolute path, got "relative"');
    // Bad options are usage errors (exit 2), as everywhere, not internal ones.
    expect(() => readPrompts(['x'], { cwd: 'relative' })).toThrow(UsageError);
    expect(() => readPrompts(['x', ''], { cwd: tmp.dir })).toThrow(UsageError);
    expect(() => readPrompts([], { cwd: tmp.dir })).toThrow('expected at least one input');
  });
});

describe('readPrompts: streaming', () => {
  it('yields the first prompt of a large stream without reading the rest', async () => {
    let pulled = 0;
    const total = 10_000;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < total; i += 1) {
        pulled += 1;
        yield Buffer.from(`{"id": "p${i}", "prompt": "${'x'.repeat(100)}"}\n`);
      }
    }
    const { Readable } = await import('node:stream');
    const stdin = Readable.from(chunks());
    const iterator = readPrompts(['-'], { cwd: tmp.dir, stdin })[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ ok: true, item: { customId: 'p0', index: 0 } });
    // Readable.from buffers a little ahead (its high-water mark), but nowhere near the whole stream.
    expect(pulled).toBeLessThan(100);
    await iterator.return?.();
  });

  it('reads a large file chunk by chunk and closes it when the consumer stops', async () => {
    const line = `{"prompt": "${'y'.repeat(1000)}"}\n`;
    const count = 20_000; // ~20 MB, many times the 64 KiB read chunk
    tmp.write('big.jsonl', line.repeat(count));
    const iterator = readPrompts(['big.jsonl'], { cwd: tmp.dir })[Symbol.asyncIterator]();
    const before = process.memoryUsage().arrayBuffers;
    const seen: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const next = await iterator.next();
      seen.push((next.value as { item: PromptItem }).item.customId);
    }
    expect(seen).toEqual(['big.jsonl:1', 'big.jsonl:2', 'big.jsonl:3']);
    // Three records in, the file has not been loaded: far less than its 20 MB is held in buffers.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(5 * 1024 * 1024);
    await iterator.return?.();
  });
});

describe('the example prompt set', () => {
  it('reads prompts-examples as the 21 valid prompts README promises, none naming a model, covering every format', async () => {
    const records = await collect(readPrompts(['prompts-examples'], { cwd: path.resolve('.') }));
    expect(records.filter((r) => !r.ok)).toEqual([]);
    const all = items(records);
    expect(all).toHaveLength(21);
    expect(all.filter((i) => requestModel(i) !== undefined || 'model' in i.body)).toEqual([]);
    expect(all.every((i) => typeof i.body.max_tokens === 'number' && i.body.max_tokens <= 64)).toBe(true);
    const sources = all.map((i) => i.source);
    expect(sources.some((s) => /\.md$/.test(s))).toBe(true);
    expect(sources.some((s) => /\.txt$/.test(s))).toBe(true);
    expect(all.some((i) => i.customId === 'request-1')).toBe(true);
    expect(all.some((i) => i.body.seed !== undefined && i.body.stop !== undefined)).toBe(true);
  });

  it('reads the vLLM-style fixture unchanged', async () => {
    const records = await collect(readPrompts(['test/fixtures/openai_example_batch.jsonl'], { cwd: path.resolve('.') }));
    expect(items(records).map((i) => [i.customId, requestModel(i), i.body.max_tokens])).toEqual([
      ['request-1', 'meta-llama/Meta-Llama-3-8B-Instruct', 1000],
      ['request-2', 'meta-llama/Meta-Llama-3-8B-Instruct', 1000],
    ]);
  });
});
