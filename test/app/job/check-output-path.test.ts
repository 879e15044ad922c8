import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../../helpers/run-cli-in-process.js';
import { startSimServer, type SimServer } from '../../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-app-out-'));
  sim = await startSimServer({ flavour: 'openai', slots: 2, serviceMs: 1 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const prompts = `${JSON.stringify({ id: 'a', prompt: 'one' })}\n${JSON.stringify({ id: 'b', prompt: 'two' })}\n`;

function fresh(name: string): { home: string; env: Record<string, string>; input: string } {
  const home = path.join(dir, name, 'home');
  mkdirSync(home, { recursive: true });
  const input = path.join(dir, name, 'in.jsonl');
  writeFileSync(input, prompts);
  return { home, env: { BATCH_HOME: home }, input };
}

describe('--out is checked before the first request', () => {
  it('refuses an --out that is an input file, and leaves the prompts and the server untouched', async () => {
    const { home, env, input } = fresh('input');
    sim.resetStats();
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--out', input, '-q'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`[USAGE]: --out ${input} is an input file`);
    expect(readFileSync(input, 'utf8')).toBe(prompts);
    expect(sim.stats().requests).toBe(0);
    expect(readdirSync(home)).toEqual([]);
  });

  it('refuses a symbolic link to an input, and a prompt file inside an input folder', async () => {
    const { env, input } = fresh('link');
    const link = path.join(dir, 'link', 'link.jsonl');
    symlinkSync(input, link);
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--out', link, '-q'], { env })).stderr).toContain('is an input file');
    const folder = path.join(dir, 'link', 'folder');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'q.txt'), 'a question');
    const inside = await runCliInProcess(['run', folder, '--server', sim.url, '--out', path.join(folder, 'out.jsonl'), '-q'], { env });
    expect(inside.code).toBe(2);
    expect(inside.stderr).toContain('is inside the input folder');
  });

  it('refuses the job database and its -wal file', async () => {
    const { home, env, input } = fresh('db');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '-q'], { env })).code).toBe(0);
    for (const target of ['j.sqlite', 'j.sqlite-wal']) {
      const result = await runCliInProcess(['run', input, '--server', sim.url, '--job', 'j', '--out', path.join(home, target), '-q'], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('is the job database');
    }
    // The job is intact: its status still reads.
    expect((await runCliInProcess(['status', 'j'], { env })).stdout).toContain('2 total: 2 done');
  });

  it("refuses another job's own output file, and accepts the job's own", async () => {
    const { home, env, input } = fresh('other-job');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'a', '-q'], { env })).code).toBe(0);
    const outputOfA = path.join(home, 'a.output.jsonl');
    const before = readFileSync(outputOfA, 'utf8');
    sim.resetStats();
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--job', 'b', '--out', outputOfA, '-q'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--out ${outputOfA} is the output of job "a"`);
    expect(readFileSync(outputOfA, 'utf8')).toBe(before);
    expect(sim.stats().requests).toBe(0);
    // A's own run may name its own output.
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'a', '--out', outputOfA, '-q'], { env })).code).toBe(0);
  });

  it('refuses a folder, and a path under a file, before sending anything', async () => {
    const { env, input } = fresh('folder');
    sim.resetStats();
    const folder = await runCliInProcess(['run', input, '--server', sim.url, '--out', dir, '-q'], { env });
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain(`--out ${dir} is a folder; expected the path of the output file`);
    const underFile = await runCliInProcess(['run', input, '--server', sim.url, '--out', path.join(input, 'sub', 'out.jsonl'), '-q'], { env });
    expect(underFile.code).toBe(2);
    expect(underFile.stderr).toContain(`${input} is a file, not a folder`);
    expect(sim.stats().requests).toBe(0);
  });

  // Root writes anywhere, so only another user sees a folder it cannot write.
  it.skipIf(process.getuid?.() === 0)('refuses an --out whose folder cannot be written', async () => {
    const { env, input } = fresh('locked');
    const locked = path.join(dir, 'locked', 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    try {
      const result = await runCliInProcess(['run', input, '--server', sim.url, '--out', path.join(locked, 'sub', 'out.jsonl'), '-q'], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${locked} is not writable`);
    } finally {
      chmodSync(locked, 0o700);
    }
  });

  it('accepts an --out in a folder that does not exist yet, and creates it', async () => {
    const { env, input } = fresh('create');
    const out = path.join(dir, 'create', 'new', 'deeper', 'out.jsonl');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--out', out, '-q'], { env })).code).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
  });
});

describe('--out never replaces a database or goes through a link to nowhere', () => {
  it("refuses another job's database and its -wal file, for `run` and for `export`", async () => {
    const { home, env, input } = fresh('other-db');
    expect((await runCliInProcess(['run', input, '--server', sim.url, '--job', 'first', '-q'], { env })).code).toBe(0);
    const firstDb = path.join(home, 'first.sqlite');
    const before = readFileSync(firstDb);
    sim.resetStats();
    const other = path.join(dir, 'other-db', 'b.jsonl');
    writeFileSync(other, `${JSON.stringify({ id: 'c', prompt: 'three' })}\n`);
    const run = await runCliInProcess(['run', other, '--server', sim.url, '--job', 'second', '--out', firstDb, '-q'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--out ${firstDb} is a SQLite database (another job's, perhaps)`);
    expect(sim.stats().requests).toBe(0);
    writeFileSync(`${firstDb}-wal`, '');
    const wal = await runCliInProcess(['run', other, '--server', sim.url, '--job', 'third', '--out', `${firstDb}-wal`, '-q'], { env });
    expect(wal.code).toBe(2);
    expect(wal.stderr).toContain(`is a file of the SQLite database ${firstDb}`);
    rmSync(`${firstDb}-wal`);
    for (const target of [firstDb, input]) {
      const exported = await runCliInProcess(['export', 'first', '--out', target], { env });
      expect(exported.code, target).toBe(2);
    }
    expect(readFileSync(firstDb).equals(before)).toBe(true);
    expect(readFileSync(input, 'utf8')).toBe(prompts);
    expect((await runCliInProcess(['status', 'first'], { env })).code).toBe(0);
  });

  it('refuses an --out under a symbolic link to a folder that does not exist, before sending anything', async () => {
    const { env, input } = fresh('dangling');
    const link = path.join(dir, 'dangling', 'link');
    symlinkSync(path.join(dir, 'dangling', 'nowhere'), link);
    sim.resetStats();
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--out', path.join(link, 'x.jsonl'), '-q'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${link} is a symbolic link to ${path.join(dir, 'dangling', 'nowhere')}, which does not exist`);
    expect(sim.stats().requests).toBe(0);
  });
});
