import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { parseMetricsAddress } from '../../src/reporting/metrics-endpoint.js';
import { pollUntil } from '../helpers/poll-until.js';
import { runCliInProcess, startCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-metrics-listen-'));
  sim = await startSimServer({ slots: 2, serviceMs: 40 });
  // Both tests read it, in whichever order they run.
  writePrompts(path.join(dir, 'prompts.jsonl'), 60, 'm');
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One series' value, its labels in any order. */
function valueOf(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const found = Object.fromEntries([...line.slice(name.length, line.lastIndexOf('}') + 1).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v) && Object.keys(found).length === Object.keys(labels).length) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('batch run --metrics-listen', () => {
  it('serves the run\'s metrics while it sends; prompts by state agree with the job database at the same moment', async () => {
    const input = path.join(dir, 'prompts.jsonl');
    const home = path.join(dir, 'home');
    const run = startCliInProcess(['run', input, '--server', sim.url, '--job', 'watched', '--workers', '2', '--metrics-listen', '127.0.0.1:0'], { env: { BATCH_HOME: home } });
    try {
      await run.waitFor(/Prometheus metrics of the run at (http:\/\/\S+)/);
      const url = /Prometheus metrics of the run at (http:\/\/\S+)/.exec(run.output())![1]!;
      const db = path.join(home, 'watched.sqlite');
      const doneInDatabase = (): number => {
        const store = CheckpointStore.open({ path: db, readonly: true });
        try {
          return store.countByStatus(store.getJob('watched')!.id).done;
        } finally {
          store.close();
        }
      };
      await pollUntil(() => doneInDatabase() >= 5, '5 answers committed');
      // The database before and after the scrape: what the scrape says lies between.
      const before = doneInDatabase();
      const response = await fetch(url);
      const text = await response.text();
      const after = doneInDatabase();
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const done = valueOf(text, 'batch_prompts', { state: 'done', job: 'watched' })!;
      expect(done).toBeGreaterThanOrEqual(before);
      expect(done).toBeLessThanOrEqual(after);
      expect(valueOf(text, 'batch_prompts', { state: 'pending', job: 'watched' })! + done + valueOf(text, 'batch_prompts', { state: 'failed', job: 'watched' })!).toBe(60);
      expect(valueOf(text, 'batch_requests_total', { model: 'default', server: sim.url, outcome: 'ok', job: 'watched' })).toBeGreaterThanOrEqual(before);
      expect(text).toContain('# TYPE batch_request_duration_seconds histogram');
      expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
      const result = await run.done;
      expect(result.code).toBe(0);
      // The endpoint goes with the run.
      await expect(fetch(url)).rejects.toThrow();
    } finally {
      // A failed check leaves no run sending into the next test.
      run.softStop();
      await run.done;
    }
  });

  it('refuses a malformed address before anything starts, and a port in use', async () => {
    const bad = await runCliInProcess(['run', path.join(dir, 'prompts.jsonl'), '--server', sim.url, '--metrics-listen', 'localhost'], { env: { BATCH_HOME: path.join(dir, 'home-bad') } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected `--metrics-listen` to be HOST:PORT');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    sim.resetStats();
    try {
      const busy = await runCliInProcess(['run', path.join(dir, 'prompts.jsonl'), '--server', sim.url, '--job', 'busy', '--metrics-listen', `127.0.0.1:${port}`], { env: { BATCH_HOME: path.join(dir, 'home-busy') } });
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain(`--metrics-listen 127.0.0.1:${port}: cannot listen (EADDRINUSE)`);
      expect(sim.stats().requests).toBe(0);
    } finally {
      taken.close();
    }
    expect(parseMetricsAddress(':9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(() => parseMetricsAddress('127.0.0.1:70000')).toThrow(/HOST:PORT/);
  });
});
