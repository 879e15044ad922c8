import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simAnswer, startSimServer, type SimServer } from '../sim/sim-server.js';
import { parseJsonl, runCliProcess } from '../helpers/run-cli-process.js';
import { writePrompts } from '../helpers/write-prompts.js';

let dir: string;
const sims: SimServer[] = [];
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-fleet-'));
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('a fleet through the night', () => {
  it('three servers (2, 4, 8 slots): one crashes, one answers 500s for a while, one hangs a few requests; exit 0 and every result exactly once', async () => {
    let crashing: SimServer | undefined;
    // 2 slots: its 20th to 60th requests answer 500.
    const flaky = await startSimServer({ slots: 2, serviceMs: 10, script: (n) => (n >= 20 && n <= 60 ? '500' : undefined) });
    // 4 slots: dies abruptly, slots full, when its 80th request arrives.
    crashing = await startSimServer({
      slots: 4,
      serviceMs: 10,
      script: (n) => {
        if (n === 80) setImmediate(() => crashing!.crash());
        return undefined;
      },
    });
    // 8 slots: three requests take a slot and never answer (a hung slot; /health still says ok).
    const hanging = await startSimServer({ slots: 8, serviceMs: 10, script: (n) => (n === 10 || n === 30 || n === 50 ? 'hang' : undefined) });
    sims.push(flaky, crashing, hanging);

    const input = path.join(dir, 'night.jsonl');
    writePrompts(input, 1500, 'n');
    const fleet = path.join(dir, 'fleet.json');
    writeFileSync(fleet, JSON.stringify([{ url: crashing.url, type: 'llama-server', slots: 4 }, { url: hanging.url }]));
    const out = path.join(dir, 'night.out.jsonl');
    const result = await runCliProcess(['run', input, '--server', flaky.url, '--servers', fleet, '--stall-timeout', '1', '--out', out], {
      env: { BATCH_HOME: path.join(dir, 'home') },
      timeoutMs: 110_000,
    });
    expect(result.code, result.stderr).toBe(0);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(1500);
    expect(new Set(lines.map((l) => l.custom_id)).size).toBe(1500);
    for (const line of lines) {
      expect(line.error ?? null).toBeNull();
      expect(line.response.body.choices[0].message?.content ?? line.response.body.choices[0].text).toBe(simAnswer(`n prompt ${line.custom_id.slice(1)}`));
    }
    // Each fault happened, and was survived.
    expect(flaky.stats().faults['500']).toBeGreaterThan(0);
    expect(hanging.stats().faults.hang).toBe(3);
    expect(crashing.stats().requests).toBeGreaterThanOrEqual(80);
    expect(result.stderr).toContain(`server ${crashing.url} is failing`);
  }, 120_000);
});
