import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { parseJsonl, runCliProcess } from '../helpers/run-cli-process.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-e2e-deadline-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a deadline a few seconds away (spawned CLI, slow simulated server)', () => {
  let sim: SimServer;
  afterAll(async () => sim?.close());

  it('--for 2s stops sending, exits 6 saying what remains, and `batch resume` answers every prompt exactly once', async () => {
    // Two slots, half a second a prompt: 40 prompts need 10 s, so the deadline leaves most of them.
    sim = await startSimServer({ slots: 2, serviceMs: 500 });
    const file = path.join(dir, 'night.jsonl');
    writePrompts(file, 40, 'n');
    const env = { BATCH_HOME: path.join(dir, 'home') };
    const out = path.join(dir, 'night.out.jsonl');
    const first = await runCliProcess(['run', file, '--server', sim.url, '--workers', '2', '--job', 'night', '--out', out, '--for', '2s'], { env });
    expect(first.stderr).not.toMatch(/Error|INTERNAL/);
    expect(first.code).toBe(6);
    const answered = sim.stats().completed;
    expect(answered).toBeLessThan(40);
    // Not one request went out after the deadline that did not come back answered (in-flight finished within --grace).
    expect(sim.stats().requests).toBe(answered);
    expect(first.stdout).toContain(`job night: ${answered}/40 done, 0 failed, ${40 - answered} pending`);
    expect(first.stdout).toMatch(new RegExp(`deadline \\d\\d:\\d\\d reached: ${40 - answered} prompts left; (at \\d+\\.\\d prompts/s about \\S+( \\S+)?|no prompt finished, so no estimate); nothing is lost; continue with: batch resume night`));
    expect(first.stderr).toMatch(/sending stops at .* \(--until\/--for\)/);

    // The deadline is not remembered: the resume runs to the end.
    const resumed = await runCliProcess(['resume', 'night'], { env });
    expect(resumed.stderr).not.toMatch(/deadline|sending stops/);
    expect(resumed.code).toBe(0);
    const stats = sim.stats();
    expect(Object.keys(stats.byPrompt)).toHaveLength(40);
    expect(Object.values(stats.byPrompt).every((count) => count === 1)).toBe(true);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(new Set(lines.map((line) => line.custom_id)).size).toBe(40);
  });

  it.each([
    [['--until', '25:00'], 'expected `--until` to be a local time HH:MM (00:00 to 23:59), such as 07:00, got "25:00"'],
    [['--until', '7'], 'expected `--until` to be a local time HH:MM'],
    [['--for', '-1h'], 'expected `--for` to be a duration such as 6h, 90m, 45s or 1h30m'],
    [['--for', '0'], 'expected `--for` to be a duration'],
    [['--for', 'banana'], 'expected `--for` to be a duration'],
    [['--for', '600h'], 'expected `--for` to be at most 596h'],
    [['--until', '07:00', '--for', '6h'], '--until 07:00 and --for 6h both set a deadline: give one of them'],
  ])('%j is refused (exit 2) before anything is sent or created', async (flags, message) => {
    const server = await startSimServer();
    try {
      const file = path.join(dir, 'bad.jsonl');
      writePrompts(file, 2, 'b');
      const home = path.join(dir, `home-bad-${flags.join('')}`);
      const result = await runCliProcess(['run', file, '--server', server.url, ...flags], { env: { BATCH_HOME: home } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(server.stats().requests).toBe(0);
      expect(existsSync(home)).toBe(false);
      const dry = await runCliProcess(['run', file, '--dry-run', ...flags], { env: { BATCH_HOME: home } });
      expect(dry.code).toBe(2);
      expect(dry.stderr).toContain(message);
    } finally {
      await server.close();
    }
  });
});
