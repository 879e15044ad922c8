import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer } from '../sim/sim-server.js';
import { json, startRecordingServer, type Handler } from '../backends/recording-server.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';

let dir: string;
let prompts: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-failure-output-'));
  prompts = path.join(dir, 'in.jsonl');
  writeFileSync(prompts, '{"id": "a", "prompt": "hi", "max_tokens": 4}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the one prompt against `handler` (an OpenAI-compatible server) and returns its output line. */
async function runAgainst(name: string, handler: Handler): Promise<{ code: number; line: Record<string, any> }> {
  // Only completions misbehave: the start-up probes get a plain model list.
  const server = await startRecordingServer((request, res) =>
    request.method === 'GET' ? json(res, 200, { object: 'list', data: [{ id: 'm1' }] }) : handler(request, res),
  );
  try {
    const out = path.join(dir, `${name}.jsonl`);
    const result = await runCliInProcess(['run', prompts, '--server', server.url, '--server-type', 'openai', '--retries', '1', '--out', out, '--quiet'], { env: { BATCH_HOME: path.join(dir, name) } });
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(1);
    return { code: result.code, line: lines[0]! };
  } finally {
    await server.close();
  }
}

describe('a failed prompt in the output', () => {
  it.each([
    ['no choices', (_: unknown, res: Parameters<Handler>[1]) => json(res, 200, { id: 'x', object: 'chat.completion' }), 'ANSWER_INVALID_SHAPE'],
    ['HTML from a proxy', (_: unknown, res: Parameters<Handler>[1]) => json(res, 200, '<html>sign in</html>'), 'ANSWER_NOT_JSON'],
    ['invalid JSON', (_: unknown, res: Parameters<Handler>[1]) => json(res, 200, '{"choices": ['), 'ANSWER_NOT_JSON'],
  ] as const)('a 200 with %s is failed, with no made-up response: response null, error set', async (name, handler, code) => {
    const { code: exit, line } = await runAgainst(name.replace(/\W/g, '-'), handler);
    expect(exit).toBe(4);
    expect(line.response).toBeNull();
    expect(line.error.code).toBe(code);
  });

  it("keeps a 404's own JSON body unchanged in response.body", async () => {
    const body = { error: { type: 'not_found_error', message: 'no route for /v1/completions' } };
    const { line } = await runAgainst('404', (_, res) => json(res, 404, body, { 'x-request-id': 'req-7' }));
    expect(line.response).toEqual({ status_code: 404, request_id: 'req-7', body });
    expect(line.error.code).toBe('REQUEST_REJECTED');
  });

  it('after the retries of an always-429 server, the stored error says it failed, not "retrying"', async () => {
    const sim = await startSimServer({ faults: { error429Rate: 1, retryAfterSeconds: 0 } });
    try {
      const out = path.join(dir, '429.jsonl');
      const result = await runCliInProcess(['run', prompts, '--server', sim.url, '--out', out, '--quiet'], { env: { BATCH_HOME: path.join(dir, '429') } });
      expect(result.code).toBe(4);
      expect(sim.stats().requests).toBe(6);
      const [line] = parseJsonl(readFileSync(out, 'utf8'));
      expect(line!.error.code).toBe('RATE_LIMITED');
      expect(line!.error.message).toContain('answered 429');
      expect(line!.error.message).not.toMatch(/retrying/i);
    } finally {
      await sim.close();
    }
  });
});

describe('usage errors', () => {
  it('are printed once: one `batch: error` line for an unknown flag, and nothing from commander', async () => {
    const result = await runCliInProcess(['run', prompts, '--no-such-flag'], { env: { BATCH_HOME: path.join(dir, 'usage') } });
    expect(result.code).toBe(2);
    expect(result.stderr.match(/error/gi)).toHaveLength(1);
    expect(result.stderr).toMatch(/^batch: error \[USAGE\]: .*--no-such-flag/);
  });
});
