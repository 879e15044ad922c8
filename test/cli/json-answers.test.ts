import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import Database from 'better-sqlite3';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { jsonFate, sampleInstance } from '../sim/json-answers.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';

const schema = {
  title: 'Ticket',
  type: 'object',
  properties: {
    title: { type: 'string' },
    priority: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string' } },
    meta: { type: 'object', properties: { lang: { type: 'string' } } },
  },
  required: ['title', 'priority'],
};

let dir: string;
let sim: SimServer | undefined;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-json-'));
  writeFileSync(path.join(dir, 'ticket.schema.json'), JSON.stringify(schema, null, 2));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const count = 60;
const promptText = (prefix: string, i: number): string => `${prefix} prompt ${i}`;

describe('batch run --json-schema against a server that answers invalid JSON for a share of prompts', () => {
  it.each(['llama-server', 'openai', 'ollama'] as const)('%s: retries the broken ones, validates the rest, fails those still invalid with the validator message, exits 4', async (flavour) => {
    const invalidJson = { onceRate: 0.2, alwaysRate: 0.1 };
    sim = await startSimServer({ flavour, invalidJson, slots: 4 });
    const prefix = `t-${flavour}`;
    const input = path.join(dir, `${prefix}.jsonl`);
    writePrompts(input, count, prefix);
    const fates = Array.from({ length: count }, (_, i) => jsonFate(promptText(prefix, i), invalidJson.onceRate, invalidJson.alwaysRate));
    const always = fates.filter((fate) => fate === 'always').length;
    const once = fates.filter((fate) => fate === 'once').length;
    // The hash picks a fixed set: the test means nothing unless it holds both kinds.
    expect(always).toBeGreaterThan(0);
    expect(once).toBeGreaterThan(0);
    const out = path.join(dir, `${prefix}.out.jsonl`);
    const env = { BATCH_HOME: path.join(dir, `home-${flavour}`) };

    const result = await runCliInProcess(['run', input, '--server', sim.url, '--json-schema', path.join(dir, 'ticket.schema.json'), '--job', prefix, '--out', out, '--quiet'], { env });
    expect(result.code).toBe(4);
    // Every prompt once, the broken-once ones twice, the always-broken ones 1 + --json-retries (2) times.
    expect(sim.stats().requests).toBe(count + once + 2 * always);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(count);
    lines.forEach((line, i) => {
      expect(line.custom_id).toBe(`${prefix}${i}`);
      if (fates[i] === 'always') {
        expect(line.error.code).toBe('ANSWER_INVALID');
        expect(line.error.message).toContain('the answer does not match JSON Schema "Ticket": /title: must be string');
        expect(line.answer).toBeUndefined();
        // The server's own (invalid) answer is kept for inspection.
        expect(line.response.status_code).toBe(200);
      } else {
        expect(line.error).toBeNull();
        expect(line.answer).toEqual(sampleInstance(schema, promptText(prefix, i)));
      }
    });

    const csv = await runCliInProcess(['export', prefix, '--format', 'csv'], { env });
    expect(csv.code).toBe(0);
    const rows = parse(csv.stdout) as string[][];
    expect(rows[0]!.slice(0, 6)).toEqual(['title', 'priority', 'tags', 'meta.lang', 'custom_id', 'status']);
    const done = rows.findIndex((row) => row[4] === `${prefix}${fates.indexOf('valid')}`);
    const text = promptText(prefix, fates.indexOf('valid'));
    const expected = sampleInstance(schema, text) as { title: string; priority: number; tags: string[]; meta: { lang: string } };
    expect(rows[done]!.slice(0, 6)).toEqual([expected.title, String(expected.priority), JSON.stringify(expected.tags), expected.meta.lang, `${prefix}${fates.indexOf('valid')}`, 'done']);
    const failed = rows.find((row) => row[4] === `${prefix}${fates.indexOf('always')}`)!;
    expect(failed.slice(0, 6)).toEqual(['', '', '', '', `${prefix}${fates.indexOf('always')}`, 'failed']);
  });

  it('remembers --json-schema: resume --retry-failed sends the failed prompts again with the schema, without the flag', async () => {
    const invalidJson = { alwaysRate: 0.1 };
    sim = await startSimServer({ invalidJson });
    const prefix = 'remember';
    const input = path.join(dir, `${prefix}.jsonl`);
    writePrompts(input, 30, prefix);
    const always = Array.from({ length: 30 }, (_, i) => jsonFate(promptText(prefix, i), 0, 0.1)).filter((fate) => fate === 'always').length;
    expect(always).toBeGreaterThan(0);
    const env = { BATCH_HOME: path.join(dir, 'home-remember') };
    const first = await runCliInProcess(['run', input, '--server', sim.url, '--json-schema', path.join(dir, 'ticket.schema.json'), '--json-retries', '0', '--job', prefix, '--quiet'], { env });
    expect(first.code).toBe(4);
    expect(sim.stats().requests).toBe(30);
    const again = await runCliInProcess(['resume', prefix, '--retry-failed', '--quiet', '--json'], { env });
    expect(again.code).toBe(4);
    // Only the failed prompts, once each (--json-retries 0 remembered too), and still checked against the schema.
    expect(sim.stats().requests).toBe(30 + always);
    expect(JSON.parse(again.stdout)).toMatchObject({ failed: always });
  });
});

describe('bad JSON Schemas are refused before anything is sent', () => {
  it('a --json-schema file that is not JSON: exit 2 naming file, line and column', async () => {
    sim = await startSimServer();
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{\n  "type": "object",\n  properties: {}\n}\n');
    const input = path.join(dir, 'bad1.jsonl');
    writePrompts(input, 3, 'bad1');
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--json-schema', file, '--quiet'], { env: { BATCH_HOME: path.join(dir, 'home-bad1') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:3:3: --json-schema is not JSON`);
    expect(sim.stats().requests).toBe(0);
  });

  it('a file that is JSON but no valid JSON Schema: exit 2 naming the file and what the meta-schema says', async () => {
    sim = await startSimServer();
    const file = path.join(dir, 'invalid.schema.json');
    writeFileSync(file, JSON.stringify({ type: 'objekt', properties: { a: { minLength: -1 } } }));
    const input = path.join(dir, 'bad2.jsonl');
    writePrompts(input, 3, 'bad2');
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--json-schema', file, '--quiet'], { env: { BATCH_HOME: path.join(dir, 'home-bad2') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}: --json-schema is not a valid JSON Schema (draft 2020-12): `);
    expect(result.stderr).toContain('/type: must be equal to one of the allowed values');
    expect(result.stderr).toContain('/properties/a/minLength: must be >= 0');
    expect(sim.stats().requests).toBe(0);
    const missing = await runCliInProcess(['run', input, '--server', sim.url, '--json-schema', path.join(dir, 'nope.json'), '--quiet'], { env: { BATCH_HOME: path.join(dir, 'home-bad2') } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read the --json-schema file (ENOENT)');
  });

  it("a JSONL request whose own response_format holds an invalid schema fails alone; the others run and are validated by their own schema", async () => {
    sim = await startSimServer();
    const input = path.join(dir, 'own.jsonl');
    const own = { type: 'json_schema', json_schema: { name: 'own', schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } };
    writeFileSync(
      input,
      [
        JSON.stringify({ id: 'good', prompt: 'own prompt good', response_format: own }),
        JSON.stringify({ id: 'bad', prompt: 'own prompt bad', response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 12 } } } }),
        JSON.stringify({ id: 'plain', prompt: 'own prompt plain' }),
      ].join('\n') + '\n',
    );
    const out = path.join(dir, 'own.out.jsonl');
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--out', out, '--quiet'], { env: { BATCH_HOME: path.join(dir, 'home-own') } });
    expect(result.code).toBe(4);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines.map((line) => [line.custom_id, line.error?.code ?? null])).toEqual([['good', null], ['bad', 'PROMPT_INVALID'], ['plain', null]]);
    expect(lines[0]!.answer).toEqual({ n: 'own prompt good'.length });
    expect(lines[1]!.error.message).toContain('"response_format.json_schema.schema" is not a valid JSON Schema (draft 2020-12): /type:');
    expect(lines[2]!.answer).toBeUndefined();
    expect(sim.stats().requests).toBe(2);
  });
});

describe('batch export --format csv beside the input rows', () => {
  it('writes the input row columns (read back exactly as the CSV held them), then the answer fields, then batch columns', async () => {
    sim = await startSimServer();
    const prefix = 'rows';
    const input = path.join(dir, `${prefix}.jsonl`);
    writePrompts(input, 4, prefix);
    const env = { BATCH_HOME: path.join(dir, 'home-rows') };
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--json-schema', path.join(dir, 'ticket.schema.json'), '--job', prefix, '--quiet'], { env })).code).toBe(0);
    // The rows a --data CSV gave (BOM, CRLF, quoted commas and line breaks, formula-like text),
    // as the template reader stores them in items.row_data.
    const csvText = '\uFEFFid,"title, full",body,=note\r\n1,"A, b","two\r\nlines",=1+1\r\n2,"say ""hi""",plain,-3\r\n3,é😀,"",@x\r\n4,,"x\ny",+y\r\n';
    const records = parse(csvText, { bom: true }) as string[][];
    const db = new Database(path.join(env.BATCH_HOME, `${prefix}.sqlite`));
    try {
      const update = db.prepare('UPDATE items SET row_data = ? WHERE custom_id = ?');
      records.slice(1).forEach((values, i) => update.run(JSON.stringify({ source: 'rows.csv', line: i + 2, columns: records[0], values }), `${prefix}${i}`));
    } finally {
      db.close();
    }
    const result = await runCliInProcess(['export', prefix, '--format', 'csv'], { env });
    expect(result.code).toBe(0);
    const exported = parse(result.stdout) as string[][];
    expect(exported[0]).toEqual([...records[0]!, 'title', 'priority', 'tags', 'meta.lang', 'custom_id', 'status', 'model', 'content', 'error_code', 'error_message', 'prompt_tokens', 'completion_tokens', 'latency_ms']);
    expect(exported.slice(1).map((r) => r.slice(0, 4))).toEqual(records.slice(1));
    expect(exported[1]![4]).toBe((sampleInstance(schema, promptText(prefix, 0)) as { title: string }).title);
    // JSONL carries the parsed object.
    const jsonl = parseJsonl((await runCliInProcess(['export', prefix], { env })).stdout);
    expect(jsonl[2]!.answer).toEqual(sampleInstance(schema, promptText(prefix, 2)));
  });
});

describe('parsed answers reach prompts that send no request of their own', () => {
  it('a duplicate deterministic prompt and a --cache hit in another job carry the parsed answer too', async () => {
    sim = await startSimServer();
    const input = path.join(dir, 'dup.jsonl');
    writeFileSync(input, ['a', 'b'].map((id) => JSON.stringify({ id, prompt: 'same question', temperature: 0 })).join('\n') + '\n');
    const env = { BATCH_HOME: path.join(dir, 'home-dup') };
    const schemaFile = path.join(dir, 'ticket.schema.json');
    const db = path.join(dir, 'dup.sqlite');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--json-schema', schemaFile, '--job', 'dup1', '--db', db, '--quiet'], { env })).code).toBe(0);
    expect(sim.stats().requests).toBe(1);
    const expected = sampleInstance(schema, 'same question');
    expect(parseJsonl((await runCliInProcess(['export', 'dup1', '--db', db], { env })).stdout).map((line) => line.answer)).toEqual([expected, expected]);
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--json-schema', schemaFile, '--job', 'dup2', '--db', db, '--cache', '--quiet'], { env })).code).toBe(0);
    expect(sim.stats().requests).toBe(1);
    expect(parseJsonl((await runCliInProcess(['export', 'dup2', '--db', db], { env })).stdout).map((line) => line.answer)).toEqual([expected, expected]);
  });
});
