import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { ManagedServer } from '../../src/servers/managed-server.js';
import { pollUntil } from '../helpers/poll-until.js';
import { NO_LLAMA_SERVER, realLlamaServer } from '../helpers/real-llama-server.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';

// The fleet's health checks, slot-based routing and failover speak llama-server's language:
// /health (503 "Loading model" while it loads), /props (its slots), a connection reset when it dies.
const binary = realLlamaServer();
if (binary === undefined) console.warn(NO_LLAMA_SERVER);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-fleet-llama-server-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function server(model: string, slots: number): ManagedServer {
  return new ManagedServer({ launch: { kind: 'llama-server', binary: binary!, threads: 1 }, modelPath: model, logDir: path.join(dir, 'logs'), slots, contextSize: 256 });
}

describe.skipIf(binary === undefined)('a fleet of real llama-servers', () => {
  it('a servers file of two, the second given while it may still load, the first stopped mid-run: both serve, every prompt answered once, exit 0', async () => {
    const small = path.join(dir, 'small.gguf');
    const big = path.join(dir, 'big.gguf');
    await writeTinyLlamaGguf(small, { contextLength: 2048 });
    // ~85 MB: its server may still answer 503 "Loading model" as the run starts (it joins once loaded).
    await writeTinyLlamaGguf(big, { embeddingLength: 512, blockCount: 8, feedForwardLength: 1024, headCount: 8, contextLength: 2048 });
    const first = server(small, 2);
    const second = server(big, 2);
    await first.start();
    const loading = second.start();
    try {
      await pollUntil(() => second.url !== undefined, 'the second server to be spawned');
      const fleet = path.join(dir, 'fleet.json');
      writeFileSync(fleet, JSON.stringify([
        { url: first.url, type: 'llama-server', apiKeyEnv: 'FIRST_KEY' },
        { url: second.url, type: 'llama-server', apiKeyEnv: 'SECOND_KEY' },
      ]));
      const input = path.join(dir, 'prompts.jsonl');
      // Enough that the run is still sending when the first server stops, on a quiet machine too.
      writePrompts(input, 240, 'f', () => ({ max_tokens: 24 }));
      const out = path.join(dir, 'out.jsonl');
      const run = runCliInProcess(['run', input, '--servers', fleet, '--workers', '4', '--out', out, '--json'], {
        env: { BATCH_HOME: path.join(dir, 'home'), FIRST_KEY: first.apiKey, SECOND_KEY: second.apiKey },
      });
      // The output grows as answers land: stop the first server once some are in.
      await pollUntil(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 20, 'the first answers', 6000);
      await first.stop(2000);
      await loading;
      const result = await run;
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ total: 240, done: 240, failed: 0 });
      const lines = parseJsonl(readFileSync(out, 'utf8'));
      expect(lines.map((line) => line.custom_id)).toEqual(Array.from({ length: 240 }, (_, i) => `f${i}`));
      expect(lines.every((line) => line.error === null && line.response.status_code === 200)).toBe(true);
      // Both served: the second once it had loaded, the first until it was stopped.
      const db = new Database(path.join(dir, 'home', `${JSON.parse(result.stdout).job as string}.sqlite`), { readonly: true });
      try {
        const served = new Map(db.prepare<[], { url: string; n: number }>('SELECT endpoint_url AS url, count(*) AS n FROM items GROUP BY endpoint_url').all().map((row) => [row.url, row.n]));
        expect(served.get(first.url!)).toBeGreaterThan(0);
        expect(served.get(second.url!)).toBeGreaterThan(0);
      } finally {
        db.close();
      }
      // Named as it failed, or, when the second was still loading its model then, in the pause notice.
      expect(result.stderr).toMatch(new RegExp(`server ${first.url} is failing|every server is down since`));
    } finally {
      await first.stop(2000);
      await loading.catch(() => undefined);
      await second.stop(2000);
    }
  }, 240_000);
});
