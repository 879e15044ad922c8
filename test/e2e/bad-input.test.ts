import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { parseJsonl, runCli } from '../helpers/run-cli.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-bad-'));
  sim = await startSimServer({ slots: 4 });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bad input never stops the other prompts', () => {
  it('records each bad line or file as failed with file:line and what was expected, and runs the rest', async () => {
    const root = path.join(dir, 'mixed');
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

    const result = await runCli(['run', root, '--server', sim.url, '--out', out], { env: { BATCH_HOME: path.join(dir, 'home') } });
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
    const result = await runCli(['run', file, '--server', sim.url], { env: { BATCH_HOME: path.join(dir, 'home-dupes') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/DUPLICATE_CUSTOM_ID/);
    expect(result.stderr).toMatch(/dupes\.jsonl:3/);
    expect(result.stderr).toMatch(/dupes\.jsonl:1/);
    expect(sim.stats().requests).toBe(0);
  });

  it('exits 2 on a path that does not exist', async () => {
    const result = await runCli(['run', path.join(dir, 'nope'), '--server', sim.url], { env: { BATCH_HOME: path.join(dir, 'home-nope') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('nope');
  });

  it('exits 2 on a bad flag value, saying what was expected', async () => {
    const result = await runCli(['run', dir, '--workers', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('expected --workers to be a whole number >= 1, got "many"');
  });
});
