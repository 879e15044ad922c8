import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachedRuns } from '../../src/daemon/attached-runs.js';
import { claimDaemonRecord, processStartTime } from '../../src/daemon/daemon-record.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { DaemonCatalog } from '../../src/daemon/daemon-catalog.js';
import { DaemonServer, type DaemonPool } from '../../src/daemon/daemon-server.js';
import { ServerError } from '../../src/errors.js';
import { requestLocal } from '../../src/servers/request-local.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

// The daemon's endpoint over a simulated model server: what it answers to bad requests, and what
// it forwards. The pool is a stand-in whose one model is ready on the simulated server.
let dir: string;
let model: string;
let broken: string;
let sim: SimServer;
let daemon: DaemonServer;
let url: string;
const key = 'k'.repeat(64);
const auth = { authorization: `Bearer ${key}` };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-daemon-server-'));
  model = path.join(dir, 'm.gguf');
  broken = path.join(dir, 'broken.gguf');
  writeFileSync(model, 'GGUF');
  writeFileSync(broken, 'not a model');
  sim = await startSimServer({ slots: 2, serviceMs: 1 });
  const catalog = new DaemonCatalog({ models: [model] });
  let served = 0;
  const pool = {
    modelState: (name: string | undefined) => {
      const resolved = catalog.resolve(name);
      if (resolved.path === broken) return { model: resolved.id, state: 'failed' as const, error: new ServerError('MODEL_INVALID', `model ${broken} is invalid: missing llama.block_count`) };
      return { model: resolved.id, state: 'ready' as const };
    },
    acquire: async (name: string | undefined) => {
      served += 1;
      return { backend: undefined as never, model: catalog.resolve(name).id, server: { url: sim.url, apiKey: 'sim' }, release: () => undefined };
    },
    load: async (name: string | undefined) => ({ model: catalog.resolve(name).id, started: false, loadMs: 0 }),
    residents: () => [{ model: 'm', path: model, state: 'ready' as const, inUse: 0, lastUsedAt: Date.now() }],
    stats: () => [{ model: 'm', loads: 1, loadMsTotal: 5, restarts: 0, requestsServed: served }],
    recheck: () => undefined,
    unloadIdle: async () => [],
    close: async () => undefined,
  } as unknown as DaemonPool;
  daemon = new DaemonServer({ pool, catalog, key, slots: 2, contextSize: 512, maxModels: 1, engine: 'test', idleMs: 60_000, exitWhenIdle: false, runs: new AttachedRuns({ holdMs: 1000 }), log: () => undefined, onShutdown: () => undefined });
  url = await daemon.listen(0);
});
afterAll(async () => {
  await daemon.close(0);
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const chat = (body: unknown, headers: Record<string, string> = auth) => requestLocal(`${url}/v1/chat/completions`, { method: 'POST', json: body, headers, timeoutMs: 5000 });

describe('the daemon endpoint', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('forwards a chat request to its model server and answers what it answered, naming the run in batch ps', async () => {
    // No model: the daemon's default (its first --model).
    const answer = await chat({ messages: [{ role: 'user', content: 'hi' }] }, { ...auth, 'x-batch-run': String(process.pid), 'x-batch-job': 'night%20one' });
    expect(answer.statusCode, answer.body).toBe(200);
    expect(JSON.parse(answer.body).choices[0].message.content).toBeTypeOf('string');
    expect(daemon.status().runs).toMatchObject([{ pid: process.pid, job: 'night one', requests: 1, inFlight: 0, model: 'm' }]);
  });

  it('refuses with a clear error: no key (401), body not JSON (400), not an object (400), unknown path (404), unknown model (404), a model that cannot load (500, its code)', async () => {
    expect((await chat({ model }, {})).statusCode).toBe(401);
    const notJson = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: auth, body: '{"model": ' });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.message).toMatch(/^the request body is not JSON: /);
    const array = await chat([1, 2]);
    expect(array.statusCode).toBe(400);
    expect(JSON.parse(array.body).error.message).toBe('expected the request body to be a JSON object');
    const nowhere = await requestLocal(`${url}/v2/nothing`, { headers: auth, timeoutMs: 5000 });
    expect(nowhere.statusCode).toBe(404);
    expect(JSON.parse(nowhere.body).error.message).toContain('it serves POST /v1/chat/completions');
    const unknown = await chat({ model: 'nope', messages: [] });
    expect(unknown.statusCode).toBe(404);
    expect(JSON.parse(unknown.body).error).toMatchObject({ code: 'model_not_found' });
    const missing = await chat({ model: path.join(dir, 'gone.gguf'), messages: [] });
    expect(missing.statusCode).toBe(404);
    expect(JSON.parse(missing.body).error.message).toContain('no model file');
    const invalid = await chat({ model: broken, messages: [] });
    expect(invalid.statusCode).toBe(500);
    expect(JSON.parse(invalid.body).error).toMatchObject({ code: 'MODEL_INVALID', message: expect.stringContaining('missing llama.block_count') });
  });

  it('answers /health without the key, and nothing else', async () => {
    expect((await requestLocal(`${url}/health`, { timeoutMs: 5000 })).statusCode).toBe(200);
    expect((await requestLocal(`${url}/v1/models`, { timeoutMs: 5000 })).statusCode).toBe(401);
    const models = JSON.parse((await requestLocal(`${url}/v1/models`, { headers: auth, timeoutMs: 5000 })).body);
    expect(models.data.map((m: { id: string }) => m.id)).toContain('m');
  });

  it("a run whose daemon record holds another key is refused (AUTH_FAILED, exit 3) instead of waiting for a daemon that will never admit it", async () => {
    const home = path.join(dir, 'home-wrong-key');
    claimDaemonRecord(home, { pid: process.pid, pidStart: processStartTime(process.pid), url, key: 'w'.repeat(64), startedAt: Date.now(), logPath: path.join(dir, 'log'), slots: 2 });
    const input = path.join(dir, 'p.jsonl');
    writeFileSync(input, '{"prompt": "hi"}\n');
    const result = await runCliInProcess(['run', input, '--model', model, '--max-down', '3600'], { env: { BATCH_HOME: home }, cwd: dir });
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain('AUTH_FAILED');
  });
});
