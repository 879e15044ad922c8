import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { connectionOf } from '../../src/store/connection-of.js';

let dir: string;
let sim: SimServer;
let input: string;
/** The job one run of all the inputs makes (the shards are `<whole>.shard-K-of-N`). */
let whole: string;
let singleOutput: string;
const shardsHome = (): string => path.join(dir, 'shards-home');

interface ShardRuns {
  readonly codes: readonly number[];
  readonly jobs: readonly string[];
  /** What the simulator saw of the two runs. */
  readonly stats: ReturnType<SimServer['stats']>;
}
let shardRuns: Promise<ShardRuns> | undefined;
/** The two shard runs every test here builds on, made once, whichever test asks first (tests may run shuffled). */
function runShards(): Promise<ShardRuns> {
  shardRuns ??= (async () => {
    sim.resetStats();
    const env = { BATCH_HOME: shardsHome() };
    const first = await runCliInProcess(['run', input, '--server', sim.url, '--shard', '1/2', '--json', '--quiet'], { env });
    const second = await runCliInProcess(['run', input, '--server', sim.url, '--shard', '2/2', '--json', '--quiet'], { env });
    const stats = sim.stats();
    return { codes: [first.code, second.code], jobs: [first, second].map((run) => (JSON.parse(run.stdout) as { job: string }).job), stats };
  })();
  return shardRuns;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-shard-'));
  sim = await startSimServer({ flavour: 'openai', slots: 8, serviceMs: 1, reproducibleAnswers: true });
  input = path.join(dir, 'prompts.jsonl');
  // Every 7th prompt asks for fewer tokens: answers differ in more than their text.
  writePrompts(input, 90, 'q', (i) => (i % 7 === 0 ? { max_tokens: 4 } : {}));
  singleOutput = path.join(dir, 'single.jsonl');
  const single = await runCliInProcess(['run', input, '--server', sim.url, '--out', singleOutput, '--json', '--quiet'], { env: { BATCH_HOME: path.join(dir, 'single-home') } });
  expect(single.code).toBe(0);
  whole = (JSON.parse(single.stdout) as { job: string }).job;
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('batch run --shard K/N and batch export of the shards', () => {
  it('--shard 1/2 and --shard 2/2 on one machine are two jobs that together send every prompt exactly once; their export is the single run\'s output byte for byte', async () => {
    const env = { BATCH_HOME: shardsHome() };
    const { codes, jobs, stats } = await runShards();
    expect(codes).toEqual([0, 0]);
    expect(jobs).toEqual([`${whole}.shard-1-of-2`, `${whole}.shard-2-of-2`]);
    for (const job of jobs) expect(existsSync(path.join(shardsHome(), `${job}.sqlite`))).toBe(true);

    expect(stats.requests).toBe(90);
    expect(Object.keys(stats.byPrompt)).toHaveLength(90);
    expect(Object.values(stats.byPrompt).every((n) => n === 1)).toBe(true);
    const shardLines = jobs.map((job) => parseJsonl(readFileSync(path.join(shardsHome(), `${job}.output.jsonl`), 'utf8')));
    expect(shardLines[0]!.length).toBeGreaterThan(20);
    expect(shardLines[1]!.length).toBeGreaterThan(20);
    expect(shardLines[0]!.length + shardLines[1]!.length).toBe(90);

    const expected = readFileSync(singleOutput, 'utf8');
    // Found in the batch home by the whole job's name…
    const merged = path.join(dir, 'merged.jsonl');
    const fromHome = await runCliInProcess(['export', whole, '--out', merged], { env });
    expect(fromHome.code).toBe(0);
    expect(fromHome.stderr).toContain(`wrote 90 jsonl lines of job "${whole}" (2 shards merged in input order)`);
    expect(readFileSync(merged, 'utf8')).toBe(expected);
    // …or given as databases, in any order, to stdout.
    const fromDbs = await runCliInProcess(['export', whole, '--db', path.join(shardsHome(), `${jobs[1]}.sqlite`), '--db', path.join(shardsHome(), `${jobs[0]}.sqlite`)], { env: { BATCH_HOME: path.join(dir, 'elsewhere') } });
    expect(fromDbs.code).toBe(0);
    expect(fromDbs.stdout).toBe(expected);
    // One shard alone is still a job of its own.
    const alone = await runCliInProcess(['export', jobs[0]!], { env });
    expect(alone.code).toBe(0);
    expect(alone.stdout).toBe(readFileSync(path.join(shardsHome(), `${jobs[0]}.output.jsonl`), 'utf8'));
    // As CSV the shards have one job's columns, one row per prompt, in input order.
    const csv = await runCliInProcess(['export', whole, '--format', 'csv'], { env });
    const singleCsv = await runCliInProcess(['export', whole, '--format', 'csv'], { env: { BATCH_HOME: path.join(dir, 'single-home') } });
    expect([csv.code, singleCsv.code]).toEqual([0, 0]);
    const idsOf = (text: string): string[] => [...text.matchAll(/^(q\d+),/gm)].map((m) => m[1]!);
    expect(csv.stdout.split('\r\n')[0]).toBe(singleCsv.stdout.split('\r\n')[0]);
    expect(idsOf(csv.stdout)).toHaveLength(90);
    expect(idsOf(csv.stdout)).toEqual(idsOf(singleCsv.stdout));
  });

  it('a shard resumes as a shard: --retry-failed reads the inputs again and keeps only its share', async () => {
    const flaky = await startSimServer({ flavour: 'openai', serviceMs: 1, script: (_n, request) => (request.promptText.endsWith('7') ? '500' : undefined) });
    try {
      const env = { BATCH_HOME: path.join(dir, 'resume-home') };
      const first = await runCliInProcess(['run', input, '--server', flaky.url, '--shard', '1/2', '--retries', '0', '--json', '--quiet'], { env });
      expect(first.code).toBe(4);
      const summary = JSON.parse(first.stdout) as { job: string; failed: number; total: number };
      expect(summary.failed).toBeGreaterThan(0);
      sim.resetStats();
      const resumed = await runCliInProcess(['resume', summary.job, '--retry-failed', '--server', sim.url, '--json'], { env });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).not.toMatch(/no longer in the inputs|changed since/);
      expect(sim.stats().requests).toBe(summary.failed);
      const lines = parseJsonl(readFileSync(path.join(dir, 'resume-home', `${summary.job}.output.jsonl`), 'utf8'));
      expect(lines).toHaveLength(summary.total);
      expect(lines.every((line) => line.error === null)).toBe(true);
    } finally {
      await flaky.close();
    }
  });

  it('an empty shard is a finished job with nothing to send, not an error', async () => {
    const tiny = path.join(dir, 'tiny.jsonl');
    writePrompts(tiny, 1, 'tiny');
    const env = { BATCH_HOME: path.join(dir, 'tiny-home') };
    const codes = [];
    let notices = '';
    for (const shard of ['1/2', '2/2']) {
      const run = await runCliInProcess(['run', tiny, '--server', sim.url, '--shard', shard], { env });
      codes.push(run.code);
      notices += run.stderr;
    }
    expect(codes).toEqual([0, 0]);
    expect(notices).toMatch(/shard [12]\/2 holds none of the prompts of .*tiny\.jsonl: nothing to send/);
    // `batch report` of the empty shard reports a finished job with no prompts, not JOB_EMPTY.
    const listed = JSON.parse((await runCliInProcess(['jobs', '--json'], { env })).stdout) as { name: string; total: number }[];
    const job = listed.find((entry) => entry.total === 0)!.name;
    const report = await runCliInProcess(['report', job], { env });
    expect(report.stderr).toBe('');
    expect(report).toMatchObject({ code: 0 });
    expect(report.stdout).toContain(`job         ${job} (done)`);
    expect(report.stdout).toContain('prompts     none: the job finished holding no prompts');
    const html = path.join(dir, 'empty-shard.html');
    expect((await runCliInProcess(['report', job, '--html', html, '--json'], { env })).code).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain(job);
  });

  describe('export refuses shards that do not fit together, exit 2', () => {
    beforeAll(async () => {
      await runShards();
    });
    const dbOf = (home: string, job: string): string => path.join(home, `${job}.sqlite`);

    it('a missing shard', async () => {
      const result = await runCliInProcess(['export', whole, '--db', dbOf(shardsHome(), `${whole}.shard-1-of-2`)], { env: { BATCH_HOME: path.join(dir, 'elsewhere') } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`error [SHARDS_MISMATCHED]: shard 2/2 of job "${whole}" missing`);
      expect(result.stdout).toBe('');
    });

    it('shards of different splits', async () => {
      const home = path.join(dir, 'thirds-home');
      expect((await runCliInProcess(['run', input, '--server', sim.url, '--shard', '1/3', '--quiet'], { env: { BATCH_HOME: home } })).code).toBe(0);
      const result = await runCliInProcess(['export', whole, '--db', dbOf(home, `${whole}.shard-1-of-3`), '--db', dbOf(shardsHome(), `${whole}.shard-2-of-2`)], { env: { BATCH_HOME: home } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/come from different splits: .* is one of 3, .* one of 2/);
    });

    it('one shard twice', async () => {
      const copy = path.join(dir, 'copy', `${whole}.shard-1-of-2.sqlite`);
      mkdirSync(path.dirname(copy), { recursive: true });
      copyFileSync(dbOf(shardsHome(), `${whole}.shard-1-of-2`), copy);
      const out = path.join(dir, 'twice.jsonl');
      const result = await runCliInProcess(
        ['export', whole, '--out', out, '--db', dbOf(shardsHome(), `${whole}.shard-1-of-2`), '--db', copy, '--db', dbOf(shardsHome(), `${whole}.shard-2-of-2`)],
        { env: { BATCH_HOME: shardsHome() } },
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`shard 1/2 of job "${whole}" was given twice`);
      expect(existsSync(out)).toBe(false);
    });

    it("a database whose job is named as a shard but holds other prompts (overlapping custom_ids)", async () => {
      const home = path.join(dir, 'impostor-home');
      // Named like shard 2/2, run without --shard: it holds every prompt.
      expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', `${whole}.shard-2-of-2`, '--quiet'], { env: { BATCH_HOME: home } })).code).toBe(0);
      const out = path.join(dir, 'impostor.jsonl');
      const result = await runCliInProcess(['export', whole, '--out', out, '--db', dbOf(shardsHome(), `${whole}.shard-1-of-2`), '--db', dbOf(home, `${whole}.shard-2-of-2`)], { env: { BATCH_HOME: home } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/holds "q\d+", which belongs to shard 1\/2: this database does not hold shard 2\/2 of these inputs/);
      expect(existsSync(out)).toBe(false);
    });

    it('shards of other inputs (the same input positions twice)', async () => {
      const other = path.join(dir, 'other.jsonl');
      writePrompts(other, 90, 'other');
      const home = path.join(dir, 'other-home');
      expect((await runCliInProcess(['run', other, '--server', sim.url, '--job', whole, '--shard', '2/2', '--quiet'], { env: { BATCH_HOME: home } })).code).toBe(0);
      const args = ['export', whole, '--out', path.join(dir, 'other.out.jsonl'), '--db', dbOf(shardsHome(), `${whole}.shard-1-of-2`), '--db', dbOf(home, `${whole}.shard-2-of-2`)];
      const result = await runCliInProcess(args, { env: { BATCH_HOME: home } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/read inputs of different content/);
      // A shard from a batch that recorded no content fingerprint: its items show it.
      const store = CheckpointStore.open({ path: dbOf(home, `${whole}.shard-2-of-2`) });
      connectionOf(store).prepare(`UPDATE jobs SET input_fingerprint = 'f'`).run();
      store.close();
      const older = await runCliInProcess(args, { env: { BATCH_HOME: home } });
      expect(older.code).toBe(2);
      expect(older.stderr).toMatch(/both hold input position \d+: they read different inputs/);
    });

    it('shards run on one path whose content changed between them (the issue\'s small.jsonl, then big.jsonl)', async () => {
      const home = path.join(dir, 'changed-home');
      const changing = path.join(dir, 'in.jsonl');
      writePrompts(changing, 20, 'q');
      expect((await runCliInProcess(['run', changing, '--server', sim.url, '--job', 'mix', '--shard', '1/2', '--quiet'], { env: { BATCH_HOME: home } })).code).toBe(0);
      writePrompts(changing, 60, 'q');
      expect((await runCliInProcess(['run', changing, '--server', sim.url, '--job', 'mix', '--shard', '2/2', '--quiet'], { env: { BATCH_HOME: home } })).code).toBe(0);
      const result = await runCliInProcess(['export', 'mix'], { env: { BATCH_HOME: home } });
      expect(result.stderr).toMatch(/error \[SHARDS_MISMATCHED\]: the shards of job "mix" read inputs of different content: shard 1\/2 .* read sha256:\w+…, shard 2\/2 .* read sha256:\w+…/);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      // Shard 1/2 run again on the inputs shard 2/2 read: it sends the prompts it lacked, and the shards merge.
      expect((await runCliInProcess(['run', changing, '--server', sim.url, '--job', 'mix', '--shard', '1/2', '--quiet'], { env: { BATCH_HOME: home } })).code).toBe(0);
      const merged = await runCliInProcess(['export', 'mix'], { env: { BATCH_HOME: home } });
      expect(merged.code, merged.stderr).toBe(0);
      expect(parseJsonl(merged.stdout).map((line) => line.custom_id)).toEqual(Array.from({ length: 60 }, (_, i) => `q${i}`));
    });

    it('the same database named twice is named as such, not as the shard it should have been, missing', async () => {
      const one = dbOf(shardsHome(), `${whole}.shard-1-of-2`);
      const result = await runCliInProcess(['export', whole, '--db', one, '--db', one], { env: { BATCH_HOME: shardsHome() } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`error [SHARDS_MISMATCHED]: --db ${one} was given twice`);
      expect(result.stderr).not.toContain('missing');
    });

    it('a misfit found in the items stops a merge to stdout before its first line', async () => {
      const home = path.join(dir, 'impostor-stdout-home');
      expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', `${whole}.shard-2-of-2`, '--quiet'], { env: { BATCH_HOME: home } })).code).toBe(0);
      const result = await runCliInProcess(['export', whole, '--db', dbOf(shardsHome(), `${whole}.shard-1-of-2`), '--db', dbOf(home, `${whole}.shard-2-of-2`)], { env: { BATCH_HOME: home } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('error [SHARDS_MISMATCHED]');
      expect(result.stdout).toBe('');
    });

    it('a shard with prompts not finished: exit 5 and nothing written, unless --partial', async () => {
      const home = path.join(dir, 'unfinished-home');
      mkdirSync(home, { recursive: true });
      for (const k of [1, 2]) copyFileSync(dbOf(shardsHome(), `${whole}.shard-${k}-of-2`), dbOf(home, `${whole}.shard-${k}-of-2`));
      // As an interrupted run leaves it: two prompts of shard 2/2 still pending.
      const store = CheckpointStore.open({ path: dbOf(home, `${whole}.shard-2-of-2`) });
      connectionOf(store).prepare(`UPDATE items SET status = 'pending', response = NULL, finished_at = NULL WHERE rowid IN (SELECT rowid FROM items ORDER BY idx LIMIT 2)`).run();
      store.close();
      const out = path.join(dir, 'unfinished.jsonl');
      for (const target of [['--out', out], []]) {
        const refused = await runCliInProcess(['export', whole, ...target], { env: { BATCH_HOME: home } });
        expect(refused.code).toBe(5);
        expect(refused.stderr).toMatch(/error \[EXPORT_INCOMPLETE\]: nothing written: shard 2\/2 \(.*\) has 2 prompt\(s\) not finished; `batch resume .*\.shard-2-of-2` where it ran finishes it; or pass --partial/);
        expect(refused.stdout).toBe('');
      }
      expect(existsSync(out)).toBe(false);
      const partial = await runCliInProcess(['export', whole, '--partial', '--out', out], { env: { BATCH_HOME: home } });
      expect(partial.code).toBe(0);
      expect(partial.stderr).toMatch(/--partial: shard 2\/2 .* has 2 prompt\(s\) not finished/);
      expect(parseJsonl(readFileSync(out, 'utf8'))).toHaveLength(88);
    });

    it('a named database with no shard of the job', async () => {
      const result = await runCliInProcess(['export', 'nightly', '--db', dbOf(shardsHome(), `${whole}.shard-1-of-2`), '--db', dbOf(shardsHome(), `${whole}.shard-2-of-2`)], { env: { BATCH_HOME: shardsHome() } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`holds no shard of job "nightly" (it holds "${whole}.shard-1-of-2")`);
    });
  });
});
