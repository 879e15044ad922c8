import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { waitForNoProcesses } from '../helpers/processes.js';
import { NO_LLAMA_SERVER, realLlamaServer } from '../helpers/real-llama-server.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';

// The simulated server proves the logic; only the real binary proves it reads the schema where we
// put it: a model of random weights answers JSON matching the schema only when its grammar does.
const binary = realLlamaServer();
if (binary === undefined) console.warn(NO_LLAMA_SERVER);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-json-llama-server-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = {
  type: 'object',
  properties: { label: { enum: ['yes', 'no', 'maybe'] }, sure: { type: 'boolean' }, n: { type: 'integer', minimum: 0, maximum: 9 } },
  required: ['label', 'sure', 'n'],
  additionalProperties: false,
};

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).map((name) => path.join(folder, name)).filter((file) => statSync(file).isFile());
}

describe.skipIf(binary === undefined)('--json-schema with the real llama-server', () => {
  let model: string;
  beforeAll(async () => {
    model = path.join(dir, 'tiny.gguf');
    await writeTinyLlamaGguf(model, { contextLength: 2048 });
    // Finite output whatever the weights: an enum, a boolean and a one-digit integer, no free text.
    writeFileSync(path.join(dir, 'schema.json'), JSON.stringify(schema));
  });

  async function run(name: string, url: '/v1/chat/completions' | '/v1/completions') {
    const input = path.join(dir, `${name}.jsonl`);
    const lines = Array.from({ length: 3 }, (_, i) =>
      JSON.stringify({ custom_id: `${name}${i}`, method: 'POST', url, body: { ...(url === '/v1/completions' ? { prompt: `question ${i}` } : { messages: [{ role: 'user', content: `question ${i}` }] }), max_tokens: 96 } }),
    );
    writeFileSync(input, lines.join('\n') + '\n');
    const out = path.join(dir, `${name}.out.jsonl`);
    const home = path.join(dir, `home-${name}`);
    const result = await runCliInProcess(['run', input, '--model', model, '--llama-server', binary!, '--threads', '1', '--slots', '2', '--ctx', '512', '--json-schema', path.join(dir, 'schema.json'), '--json-retries', '0', '--job', name, '--out', out, '-q'], { env: { BATCH_HOME: home } });
    return { result, output: parseJsonl(readFileSync(out, 'utf8')), logs: filesUnder(path.join(home, `${name}.logs`)).map((file) => readFileSync(file, 'utf8')).join('\n') };
  }

  it('completions: its own json_schema field becomes the grammar, so even random weights answer JSON matching the schema', async () => {
    const { result, output } = await run('text', '/v1/completions');
    expect(output.map((line) => line.error), result.stderr).toEqual(output.map(() => null));
    expect(result.code).toBe(0);
    for (const line of output) {
      expect(['yes', 'no', 'maybe']).toContain(line.answer.label);
      expect(typeof line.answer.sure).toBe('boolean');
      expect(Object.keys(line.answer).sort()).toEqual(['label', 'n', 'sure']);
    }
    expect(await waitForNoProcesses(dir)).toEqual([]);
  });

  it('chat: it reads response_format json_schema and builds its grammar from our schema', async () => {
    const { output, logs } = await run('chat', '/v1/chat/completions');
    // The rule llama.cpp derives from the schema's enum, in the chat grammar (which starts with the generation prompt).
    const fromSchema = logs.includes('response-format-schema-label ::= ("\\"yes\\"" | "\\"no\\"" | "\\"maybe\\"")');
    // This llama.cpp cannot start that grammar with the generated model's chat template ("Failed to
    // initialize samplers", a 400, logged with the grammar); with a real model the answers are
    // checked like any other. Either way the schema was read from response_format.
    for (const line of output) {
      if (line.error === null) expect(['yes', 'no', 'maybe']).toContain(line.answer.label);
      else {
        expect(line.error.message).toContain('Failed to initialize samplers');
        expect(fromSchema, logs.slice(-2000)).toBe(true);
      }
    }
    expect(await waitForNoProcesses(dir)).toEqual([]);
  });
});
