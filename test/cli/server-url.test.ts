import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';

let dir: string;
let prompts: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-server-url-'));
  prompts = path.join(dir, 'in.jsonl');
  writeFileSync(prompts, '{"prompt": "hi"}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const badUrls = [
  ['no scheme', '127.0.0.1:8080', 'add the scheme: http://127.0.0.1:8080'],
  ['a host name without a scheme', 'localhost:8080', 'add the scheme: http://localhost:8080'],
  ['text that is no URL', 'not a url', 'expected a URL such as http://127.0.0.1:8080'],
  ['a port out of range', 'http://127.0.0.1:99999', 'expected a URL such as http://127.0.0.1:8080'],
] as const;

describe('a --server that is no URL', () => {
  it.each(badUrls)('batch run: %s exits 2 saying what a URL must look like, with no stack', async (_, url, says) => {
    const result = await runCliInProcess(['run', prompts, '--server', url, '--quiet'], { env: { BATCH_HOME: path.join(dir, 'home-run') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`batch: error [USAGE]: --server: ${says}`);
    expect(result.stderr).toContain(JSON.stringify(url));
    expect(result.stderr).not.toMatch(/Invalid URL|\n\s+at /);
  });

  it.each(badUrls)('batch run with OPENAI_API_KEY set: %s still exits 2', async (_, url) => {
    const result = await runCliInProcess(['run', prompts, '--server', url, '--quiet'], { env: { BATCH_HOME: path.join(dir, 'home-key'), OPENAI_API_KEY: 'sk-x' } });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toMatch(/Invalid URL|\n\s+at /);
  });

  it.each(badUrls)('batch optimize --measure: %s exits 2 saying what a URL must look like', async (_, url, says) => {
    const result = await runCliInProcess(['optimize', '--measure', '--server', url], { env: { BATCH_HOME: path.join(dir, 'home-opt') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`batch: error [USAGE]: --server: ${says}`);
    expect(result.stderr).not.toMatch(/Invalid URL|\n\s+at /);
  });
});
