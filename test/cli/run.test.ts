import { writePrompts } from '../helpers/write-prompts.js';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simAnswer, startSimServer, type SimServer } from '../sim/sim-server.js';
import { closedPortUrl } from '../helpers/closed-port-url.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { repoRoot } from '../helpers/sim-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-run-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function home(name: string): NodeJS.ProcessEnv {
  return { BATCH_HOME: path.join(dir, name) };
}

function content(line: Record<string, any>): string {
  return line.response.body.choices[0].message?.content ?? line.response.body.choices[0].text;
}

describe('batch run against the simulated server', () => {
  let sim: SimServer;
  afterAll(async () => sim?.close());

  it('answers 1,000 prompts in mixed formats exactly once each, never above --workers in flight', async () => {
    sim = await startSimServer({ slots: 8, serviceMs: 2 });
    const inputs = path.join(dir, 'mixed');
    mkdirSync(path.join(inputs, 'notes/deep'), { recursive: true });
    const expected = new Map<string, string>();
    for (let i = 0; i < 300; i++) {
      const rel = i % 2 ? `notes/q${i}.txt` : `notes/deep/q${i}.md`;
      const text = `folder question ${i}`;
      writeFileSync(path.join(inputs, rel), i % 3 === 0 ? `---\ntemperature: 0.5\nmax_tokens: 8\n---\n${text}\n` : `${text}\n`);
      expected.set(rel, text);
    }
    const simple: string[] = [];
    for (let i = 0; i < 400; i++) {
      const text = `simple question ${i}`;
      simple.push(JSON.stringify(i % 2 ? { id: `s${i}`, prompt: text, max_tokens: 8 } : { id: `s${i}`, messages: [{ role: 'user', content: text }] }));
      expected.set(`s${i}`, text);
    }
    writeFileSync(path.join(dir, 'simple.jsonl'), simple.join('\n') + '\n');
    const openai: string[] = [];
    for (let i = 0; i < 300; i++) {
      const text = `openai question ${i}`;
      openai.push(JSON.stringify({ custom_id: `o${i}`, method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: text }], max_tokens: 8 } }));
      expected.set(`o${i}`, text);
    }
    writeFileSync(path.join(dir, 'openai.jsonl'), openai.join('\n') + '\n');
    const out = path.join(dir, 'mixed.out.jsonl');

    const result = await runCliInProcess(['run', inputs, path.join(dir, 'simple.jsonl'), path.join(dir, 'openai.jsonl'), '--server', sim.url, '--workers', '6', '--out', out, '--quiet'], { env: home('mixed') });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(1000);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(1000);
    for (const line of lines) {
      expect(line.error).toBeNull();
      expect(line.response.status_code).toBe(200);
      expect(content(line)).toBe(simAnswer(expected.get(line.custom_id)!));
    }
    const stats = sim.stats();
    expect(stats.requests).toBe(1000);
    expect(Object.values(stats.byPrompt).every((n) => n === 1)).toBe(true);
    expect(stats.maxConcurrent).toBeLessThanOrEqual(6);
    expect(stats.maxConcurrent).toBeGreaterThan(1);
    expect(result.stdout).toMatch(/1000\/1000 done, 0 failed/);
  });

  it("runs OpenAI's / vLLM's example batch file unchanged", async () => {
    const server = await startSimServer({ models: ['meta-llama/Meta-Llama-3-8B-Instruct'] });
    try {
      const out = path.join(dir, 'vllm.out.jsonl');
      const result = await runCliInProcess(['run', path.join(repoRoot, 'test/fixtures/openai_example_batch.jsonl'), '--server', server.url, '--out', out, '--json'], { env: home('vllm') });
      expect(result.code).toBe(0);
      const lines = parseJsonl(readFileSync(out, 'utf8'));
      expect(lines.map((l) => l.custom_id)).toEqual(lines.map((_, i) => `request-${i + 1}`));
      for (const line of lines) {
        expect(line.id).toMatch(/^batch_req_/);
        expect(line.response.body.model).toBe('meta-llama/Meta-Llama-3-8B-Instruct');
      }
      const summary = JSON.parse(result.stdout);
      expect(summary.done).toBe(lines.length);
    } finally {
      await server.close();
    }
  });

  it('survives 5% 500s, 2% dropped sockets and 2% 429s: every prompt succeeds', async () => {
    const server = await startSimServer({ slots: 4, faults: { error500Rate: 0.05, dropRate: 0.02, error429Rate: 0.02, retryAfterSeconds: 1 }, seed: 7 });
    try {
      const file = path.join(dir, 'faults.jsonl');
      writeFileSync(file, Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: `f${i}`, prompt: `fault prompt ${i}` })).join('\n'));
      const out = path.join(dir, 'faults.out.jsonl');
      const result = await runCliInProcess(['run', file, '--server', server.url, '--workers', '4', '--out', out, '--json'], { env: home('faults') });
      expect(result.code).toBe(0);
      const lines = parseJsonl(readFileSync(out, 'utf8'));
      expect(lines).toHaveLength(300);
      expect(lines.every((l) => l.error === null && content(l) === simAnswer(`fault prompt ${l.custom_id.slice(1)}`))).toBe(true);
      const stats = server.stats();
      expect(stats.faults['500']).toBeGreaterThan(0);
      expect(stats.faults['429']).toBeGreaterThan(0);
      expect(stats.faults.drop).toBeGreaterThan(0);
      expect(JSON.parse(result.stdout).retries).toBeGreaterThanOrEqual(stats.faults['500'] + stats.faults['429'] + stats.faults.drop);
    } finally {
      await server.close();
    }
  });

  it('fails an unknown model fast with the server message and exit 4', async () => {
    const server = await startSimServer({ models: ['real-model'] });
    try {
      const file = path.join(dir, 'model404.jsonl');
      writeFileSync(file, [JSON.stringify({ id: 'ok', prompt: 'fine', model: 'real-model' }), JSON.stringify({ id: 'bad', prompt: 'lost', model: 'no-such-model' })].join('\n'));
      const out = path.join(dir, 'model404.out.jsonl');
      const result = await runCliInProcess(['run', file, '--server', server.url, '--out', out], { env: home('model404') });
      expect(result.code).toBe(4);
      const lines = parseJsonl(readFileSync(out, 'utf8'));
      const bad = lines.find((l) => l.custom_id === 'bad')!;
      expect(bad.error.code).toBe('MODEL_NOT_FOUND');
      expect(bad.error.message).toContain('no-such-model');
      expect(bad.response.status_code).toBe(404);
      expect(server.stats().byPrompt.lost).toBe(1);
      expect(result.stdout).toContain('batch resume');
    } finally {
      await server.close();
    }
  });

  it('exits 3 naming the URL when the server is unreachable', async () => {
    const url = await closedPortUrl();
    const file = path.join(dir, 'unreachable.jsonl');
    writeFileSync(file, JSON.stringify({ prompt: 'hello' }) + '\n');
    const result = await runCliInProcess(['run', file, '--server', url], { env: home('unreachable') });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(url);
    expect(result.stderr).toMatch(/SERVER_UNREACHABLE/);
  });
});

describe('bad input never stops the other prompts', () => {
  let sim: SimServer;
  beforeAll(async () => {
    sim = await startSimServer({ slots: 4 });
  });
  afterAll(async () => sim.close());

  it('records each bad line or file as failed with file:line and what was expected, and runs the rest', async () => {
    const root = path.join(dir, 'bad-mixed');
    mkdirSync(root, { recursive: true });
    writeFileSync(
      path.join(root, 'lines.jsonl'),
      [
        JSON.stringify({ id: 'good-1', prompt: 'first good' }),
        '{"id": "broken", "prompt": ',
        '[1, 2, 3]',
        JSON.stringify({ id: 'wrong-type', prompt: 42 }),
        JSON.stringify({ id: 'good-2', prompt: 'second good' }),
      ].join('\n') + '\n',
    );
    writeFileSync(path.join(root, 'latin1.jsonl'), Buffer.concat([Buffer.from('{"id":"bad-utf8","prompt":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n'), Buffer.from(JSON.stringify({ id: 'good-3', prompt: 'third good' }) + '\n')]));
    writeFileSync(path.join(root, 'empty.txt'), '');
    writeFileSync(path.join(root, 'binary.md'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x01]));
    writeFileSync(path.join(root, 'good.txt'), 'fourth good\n');
    const out = path.join(dir, 'bad.out.jsonl');

    const result = await runCliInProcess(['run', root, '--server', sim.url, '--out', out], { env: home('home-bad') });
    expect(result.code).toBe(4);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    const byId = new Map(lines.map((l) => [l.custom_id, l]));
    for (const id of ['good-1', 'good-2', 'good-3', 'good.txt']) expect(byId.get(id)?.response?.status_code).toBe(200);
    const failures = lines.filter((l) => l.error !== null);
    expect(failures).toHaveLength(6);
    expect(failures.every((l) => l.error.code === 'PROMPT_INVALID')).toBe(true);
    const messages = failures.map((l) => l.error.message).join('\n');
    expect(messages).toMatch(/lines\.jsonl:2: expected .*JSON/);
    expect(messages).toMatch(/lines\.jsonl:3: expected a JSON object.*got an array/);
    expect(messages).toMatch(/lines\.jsonl:4: expected .*prompt.* string.*got.*42/);
    expect(messages).toMatch(/latin1\.jsonl:1: .*UTF-8/);
    expect(messages).toMatch(/empty\.txt.*expected a prompt, got an empty file/);
    expect(messages).toMatch(/binary\.md.*expected a text file, got binary data/);
    // The user sees the problems on stderr too, not only in the output file.
    expect(result.stderr).toMatch(/lines\.jsonl:2/);
    expect(sim.stats().byPrompt['first good']).toBe(1);
  });

  it('refuses duplicate custom_ids up front, naming both places, before sending anything', async () => {
    sim.resetStats();
    const file = path.join(dir, 'dupes.jsonl');
    writeFileSync(file, [JSON.stringify({ id: 'same', prompt: 'a' }), JSON.stringify({ id: 'other', prompt: 'b' }), JSON.stringify({ id: 'same', prompt: 'c' })].join('\n'));
    const result = await runCliInProcess(['run', file, '--server', sim.url], { env: { BATCH_HOME: path.join(dir, 'home-dupes') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/DUPLICATE_CUSTOM_ID/);
    expect(result.stderr).toMatch(/dupes\.jsonl:3/);
    expect(result.stderr).toMatch(/dupes\.jsonl:1/);
    expect(sim.stats().requests).toBe(0);
  });

  it('exits 2 on a path that does not exist', async () => {
    const result = await runCliInProcess(['run', path.join(dir, 'nope'), '--server', sim.url], { env: { BATCH_HOME: path.join(dir, 'home-nope') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nope');
  });

  it('exits 2 on a bad flag value, saying what was expected', async () => {
    const result = await runCliInProcess(['run', dir, '--workers', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('expected `--workers` to be a whole number >= 1, got "many"');
  });
});

describe('secrets and the job database', () => {
  it('never writes the API key to the database, the output, the logs or the terminal', async () => {
    const secret = 'sk-test-ab12cd34ef56-very-secret';
    const server = await startSimServer({ apiKey: secret });
    try {
      const file = path.join(dir, 'secret.jsonl');
      writePrompts(file, 20, 's');
      const env = { BATCH_HOME: path.join(dir, 'home-secret'), MY_KEY: secret };
      const result = await runCliInProcess(['run', file, '--server', server.url, '--api-key-env', 'MY_KEY', '--json'], { env });
      expect(result.code).toBe(0);
      expect(server.stats().authorizationSeen).toBe(true);
      expect(result.stdout + result.stderr).not.toContain(secret);
      for (const name of readdirSync(env.BATCH_HOME, { recursive: true }) as string[]) {
        const full = path.join(env.BATCH_HOME, name);
        if (existsSync(full) && !name.endsWith('.logs')) {
          try {
            expect(readFileSync(full).includes(secret)).toBe(false);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
          }
        }
      }
      const missing = await runCliInProcess(['run', file, '--server', server.url, '--api-key-env', 'NOT_SET_ANYWHERE'], { env: { BATCH_HOME: path.join(dir, 'home-no-key') } });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('NOT_SET_ANYWHERE');
    } finally {
      await server.close();
    }
  });

  it('exits 3 with a clear message when the job database cannot be created', async () => {
    const file = path.join(dir, 'nodb.jsonl');
    writePrompts(file, 1, 'n');
    // A file where the database's folder should be: the folder cannot be created.
    const blocker = path.join(dir, 'not-a-folder');
    writeFileSync(blocker, '');
    const db = path.join(blocker, 'job.sqlite');
    const result = await runCliInProcess(['run', file, '--server', 'http://127.0.0.1:9', '--db', db]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/STORE_UNAVAILABLE/);
    expect(result.stderr).toContain(db);
  });
});
