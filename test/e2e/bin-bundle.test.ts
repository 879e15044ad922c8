import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliProcess } from '../helpers/run-cli-process.js';
import { repoRoot } from '../helpers/sim-process.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

/**
 * `batch run` and `batch resume` load the CLI as one bundled file (dist/bundle/, made by
 * `npm run build`), and the writer thread its own: BENCHMARKS.md, "Start-up". A preload given to
 * the spawned CLI (and so to its threads) records every file of this repository that is imported
 * or required; the files by path (the writer thread's script, a package's CommonJS entry) included.
 */
let dir: string;
let sim: SimServer;
let preload: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bin-bundle-'));
  sim = await startSimServer({ slots: 2 });
  const hooks = path.join(dir, 'hooks.mjs');
  writeFileSync(hooks, "import { appendFileSync } from 'node:fs';\nexport async function resolve(spec, ctx, next) { const r = await next(spec, ctx); appendFileSync(process.env.LOADED_FILE, r.url + '\\n'); return r; }\n");
  preload = path.join(dir, 'preload.mjs');
  writeFileSync(preload, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the bin with `args`; returns its exit and the files of dist/ it loaded, relative to dist/. */
async function distFilesLoadedBy(name: string, args: readonly string[]): Promise<{ readonly code: number | null; readonly stderr: string; readonly files: Set<string> }> {
  const loadedFile = path.join(dir, `${name}.loaded.txt`);
  writeFileSync(loadedFile, '');
  const result = await runCliProcess(args, {
    cwd: dir,
    env: { BATCH_HOME: path.join(dir, 'home'), LOADED_FILE: loadedFile, NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` },
  });
  const dist = pathToFileURL(path.join(repoRoot, 'dist')).href + '/';
  const files = readFileSync(loadedFile, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith(dist))
    .map((url) => url.slice(dist.length));
  return { code: result.code, stderr: result.stderr, files: new Set(files) };
}

describe('the bin loads a run from one bundled file', () => {
  it('`batch run` and `batch resume`: the bundle and the writer thread\'s bundle, no module of dist/ one by one; every prompt answered', async () => {
    const input = path.join(dir, 'prompts.jsonl');
    writeFileSync(input, ['a', 'b', 'c'].map((id) => JSON.stringify({ id, prompt: `prompt ${id}`, max_tokens: 4 })).join('\n') + '\n');
    const before = sim.stats().requests;
    const run = await distFilesLoadedBy('run', ['run', input, '--job', 'bundled', '--server', sim.url, '--quiet']);
    expect(run.code, run.stderr).toBe(0);
    expect(sim.stats().requests - before).toBe(3);
    expect([...run.files].sort()).toEqual(['bundle/batch.js', 'bundle/result-writer-worker.js']);

    const resume = await distFilesLoadedBy('resume', ['resume', 'bundled', '--server', sim.url, '--quiet']);
    expect(resume.code, resume.stderr).toBe(0);
    expect([...resume.files]).toContain('bundle/batch.js');
    expect([...resume.files].filter((file) => !file.startsWith('bundle/'))).toEqual([]);
  }, 60_000);

  it('other commands load dist/cli/ module by module (`batch --help` needs a few, not the whole bundle)', async () => {
    const help = await distFilesLoadedBy('help', ['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.files).toContain('cli/main.js');
    expect([...help.files].filter((file) => file.startsWith('bundle/'))).toEqual([]);
  }, 60_000);
});
