import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliProcess } from '../helpers/run-cli-process.js';
import { packagesIn, writeModuleRecorder, type ModuleRecorder } from '../helpers/module-recorder.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

/**
 * Packages a run loads only when its prompts need them (BENCHMARKS.md, "What batch itself costs"):
 * yaml (~55 ms, ~8 MB) for front matter, csv-parse for a CSV table. The spawned CLI gets a preload
 * that records, at exit, every package file it loaded: through `import` (a resolve hook) and through
 * `require` (the CommonJS cache).
 */
let dir: string;
let sim: SimServer;
let recorder: ModuleRecorder;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-lazy-packages-'));
  sim = await startSimServer({ slots: 2 });
  recorder = writeModuleRecorder(dir);
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `batch run ...args` and returns the packages (folder names under node_modules) it loaded. */
async function packagesLoadedBy(name: string, args: readonly string[]): Promise<Set<string>> {
  const loadedFile = path.join(dir, `${name}.loaded.txt`);
  const result = await runCliProcess(['run', ...args, '--server', sim.url, '--server-type', 'llama-server', '--quiet'], {
    env: { BATCH_HOME: path.join(dir, `home-${name}`), ...recorder.env(loadedFile) },
  });
  expect(result.code, result.stderr).toBe(0);
  return packagesIn(recorder.read(loadedFile));
}

describe('packages a run loads only when its prompts need them', () => {
  it('a JSONL job loads neither yaml nor csv-parse, and still sends every prompt', async () => {
    const input = path.join(dir, 'plain.jsonl');
    writeFileSync(input, ['a', 'b', 'c'].map((id) => JSON.stringify({ id, prompt: `prompt ${id}`, max_tokens: 4 })).join('\n') + '\n');
    const before = sim.stats().requests;
    const loaded = await packagesLoadedBy('plain', [input]);
    expect(sim.stats().requests - before).toBe(3);
    // The preload sees the packages that are loaded: the run's own are there.
    expect(loaded).toContain('better-sqlite3');
    expect(loaded).not.toContain('yaml');
    expect(loaded).not.toContain('csv-parse');
  }, 60_000);

  it('prompts with front matter load yaml, and a CSV table loads csv-parse, where they are read', async () => {
    const folder = path.join(dir, 'prompts');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'one.md'), '---\nmax_tokens: 4\n---\nSay one word.\n');
    expect(await packagesLoadedBy('front-matter', [folder])).toContain('yaml');

    const template = path.join(dir, 'row.md');
    writeFileSync(template, 'Title: {{title}}\n');
    const csv = path.join(dir, 'rows.csv');
    writeFileSync(csv, 'id,title\nr1,first\nr2,second\n');
    const loaded = await packagesLoadedBy('table', ['--template', template, '--data', csv, '--id-column', 'id']);
    expect(loaded).toContain('csv-parse');
  }, 60_000);
});
