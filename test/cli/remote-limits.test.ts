import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer | undefined;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-remote-'));
});
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The highest value of a step function given as [time, value from then on] within [from, to). */
function peakWithin(timeline: ReadonlyArray<readonly [number, number]>, from: number, to: number): number {
  let peak = 0;
  for (let i = 0; i < timeline.length; i++) {
    const [at, level] = timeline[i]!;
    const until = i + 1 < timeline.length ? timeline[i + 1]![0] : to;
    if (until > from && at < to) peak = Math.max(peak, level);
  }
  return peak;
}

describe('remote APIs: --rpm and adaptive concurrency', () => {
  it('--rpm 600: the requests the server receives stay within the bucket (5 at once, then 10 a second) for the whole run', async () => {
    sim = await startSimServer({ flavour: 'openai', slots: 64, serviceMs: 1, recordArrivals: true });
    const input = path.join(dir, 'rpm.jsonl');
    writePrompts(input, 30, 'rpm');
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--rpm', '600', '--workers', '16', '--out', path.join(dir, 'rpm.out.jsonl'), '--quiet'], {
      env: { BATCH_HOME: path.join(dir, 'rpm-home') },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(parseJsonl(readFileSync(path.join(dir, 'rpm.out.jsonl'), 'utf8'))).toHaveLength(30);
    const arrivals = sim.stats().arrivalsMs;
    expect(arrivals).toHaveLength(30);
    // Any stretch of arrivals holds at most the burst plus the rate over its length. One request of
    // slack: an early arrival delayed in this shared event loop makes a stretch look shorter.
    for (let i = 0; i < arrivals.length; i++) {
      for (let j = i + 1; j < arrivals.length; j++) {
        expect(j - i + 1).toBeLessThanOrEqual(5 + Math.floor(((arrivals[j]! - arrivals[i]!) * 10) / 1000) + 1);
      }
    }
    // And it did wait: 25 requests past the burst need 2.5 s at 10 a second.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(2300);
  });

  it('finds a server that answers 429 above 8 requests at once, without --workers: it ends up served at about 8 in flight, every prompt done once', async () => {
    sim = await startSimServer({ flavour: 'openai', slots: 64, serviceMs: 40, limitConcurrency: { max: 8 } });
    const input = path.join(dir, 'cap.jsonl');
    writePrompts(input, 400, 'cap');
    const out = path.join(dir, 'cap.out.jsonl');
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--out', out, '--quiet'], { env: { BATCH_HOME: path.join(dir, 'cap-home') } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = parseJsonl(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(400);
    expect(new Set(lines.map((line) => line.custom_id)).size).toBe(400);
    expect(lines.every((line) => line.error === null && line.response.status_code === 200)).toBe(true);
    const stats = sim.stats();
    expect(stats.completed).toBe(400);
    // It probed past the cap (from its start of 4) and was told so, but not on every request.
    expect(stats.overLimit).toBeGreaterThan(0);
    expect(stats.overLimit).toBeLessThan(160);
    // Over the second half of the run, the server was kept at its cap: in (nearly) every eighth of
    // it, the requests it served at once reached 7 or 8 (never more: it refuses them). Peaks, not a
    // mean: on a loaded machine the time between answers (this process parses and stores each)
    // would pull a mean down whatever the client does.
    const timeline = stats.servedTimeline;
    const start = timeline[0]![0];
    const end = timeline.at(-1)![0];
    const half = start + (end - start) / 2;
    const peaks = Array.from({ length: 8 }, (_, k) => peakWithin(timeline, half + ((end - half) * k) / 8, half + ((end - half) * (k + 1)) / 8));
    expect(peaks.filter((peak) => peak >= 7).length, `peaks ${peaks.join(' ')}`).toBeGreaterThanOrEqual(6);
    expect(Math.max(...peaks)).toBeLessThanOrEqual(8);
  });

  it.each([
    [['--rpm', '0'], 'expected `--rpm` to be a whole number >= 1, got 0'],
    [['--tpm', '-1'], 'expected `--tpm` to be a whole number >= 1, got "-1"'],
    [['--shard', '3/2'], 'expected `--shard` to be K/N with whole numbers 1 <= K <= N, such as 1/2 (shard 1 of 2), got "3/2"'],
    [['--shard', '0/2'], 'got "0/2"'],
    [['--shard', 'x'], 'got "x"'],
  ])('%j exits 2 with a clear message before anything is sent or created', async (flags, message) => {
    sim = await startSimServer({ flavour: 'openai' });
    const input = path.join(dir, 'bad.jsonl');
    writePrompts(input, 3, 'bad');
    const home = path.join(dir, `bad-home-${flags.join('')}`);
    const result = await runCliInProcess(['run', input, '--server', sim.url, ...flags], { env: { BATCH_HOME: home } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(sim.stats().requests).toBe(0);
    expect(existsSync(home) ? readdirSync(home) : []).toEqual([]);
  });
});
