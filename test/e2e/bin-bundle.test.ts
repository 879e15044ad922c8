import { isAscii } from 'node:buffer';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliProcess } from '../helpers/run-cli-process.js';
import { packagesIn, writeModuleRecorder, type ModuleRecorder } from '../helpers/module-recorder.js';
import { repoRoot } from '../helpers/sim-process.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

/**
 * `batch run` and `batch resume` load the CLI as one bundled file (dist/bundle/, made by
 * `npm run build`) through src/cli/load-bundle.ts, which compiles it with a V8 code cache, and the
 * writer thread its own bundle: BENCHMARKS.md, "Start-up". A preload given to the spawned CLI (and
 * so to its threads) records every module of this repository that is imported or required (the
 * bundle itself is read as a file, not imported).
 */
let dir: string;
let sim: SimServer;
let recorder: ModuleRecorder;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-bin-bundle-'));
  sim = await startSimServer({ slots: 2 });
  recorder = writeModuleRecorder(dir);
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the bin with `args`; returns its exit, the files of dist/ it loaded (relative to dist/), the packages it loaded from node_modules and Node's built-in modules. */
async function distFilesLoadedBy(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ readonly code: number | null; readonly stderr: string; readonly files: Set<string>; readonly packages: Set<string>; readonly builtins: Set<string> }> {
  const loadedFile = path.join(dir, `${name}.loaded.txt`);
  const result = await runCliProcess(args, {
    cwd: dir,
    env: { BATCH_HOME: path.join(dir, 'home'), ...recorder.env(loadedFile), ...env },
  });
  const dist = pathToFileURL(path.join(repoRoot, 'dist')).href + '/';
  const loaded = recorder.read(loadedFile);
  const files = loaded.filter((url) => url.startsWith(dist)).map((url) => url.slice(dist.length));
  const packages = packagesIn(loaded);
  const builtins = loaded.filter((line) => line.startsWith('builtin:')).map((line) => line.slice('builtin:'.length));
  return { code: result.code, stderr: result.stderr, files: new Set(files), packages, builtins: new Set(builtins) };
}

describe('the bin loads a run from one bundled file', () => {
  it('`batch run` and `batch resume`: the bundle and the writer thread\'s bundle, no module of dist/ one by one; every prompt answered', async () => {
    const input = path.join(dir, 'prompts.jsonl');
    writeFileSync(input, ['a', 'b', 'c'].map((id) => JSON.stringify({ id, prompt: `prompt ${id}`, max_tokens: 4 })).join('\n') + '\n');
    const before = sim.stats().requests;
    const run = await distFilesLoadedBy('run', ['run', input, '--job', 'bundled', '--server', sim.url, '--quiet']);
    expect(run.code, run.stderr).toBe(0);
    expect(sim.stats().requests - before).toBe(3);
    expect([...run.files].sort()).toEqual(['bundle/result-writer-worker.js', 'cli/load-bundle.js']);
    // undici's Pool and commander are in the bundle (and its code cache), one copy each; the
    // native better-sqlite3 is not.
    expect(run.packages).toContain('better-sqlite3');
    expect(run.packages).not.toContain('undici');
    expect(run.packages).not.toContain('commander');
    // undici's HTTP/2 client is loaded at the first HTTP/2 connection (none here), so node:http2
    // and node:tls are not loaded at all.
    expect(run.builtins).toContain('http');
    expect(run.builtins).not.toContain('http2');
    expect(run.builtins).not.toContain('tls');
    // node:child_process waits for its first use (--on-finish, a managed server, nvidia-smi): a
    // run with --server on a machine without nvidia-smi has none.
    expect(run.builtins).not.toContain('child_process');

    const resume = await distFilesLoadedBy('resume', ['resume', 'bundled', '--server', sim.url, '--quiet']);
    expect(resume.code, resume.stderr).toBe(0);
    expect([...resume.files]).toContain('cli/load-bundle.js');
    expect([...resume.files].filter((file) => !file.startsWith('bundle/') && file !== 'cli/load-bundle.js')).toEqual([]);
  }, 60_000);

  it('the bundle is ASCII (its packages\' license comments beside it), which load-bundle.ts reads as one-byte text', () => {
    expect(isAscii(readFileSync(path.join(repoRoot, 'dist/bundle/batch.js')))).toBe(true);
    expect(readFileSync(path.join(repoRoot, 'dist/bundle/batch.js.LEGAL.txt'), 'utf8')).toContain('MIT');
  });

  it('other commands load dist/cli/ module by module (`batch --help` needs a few, not the whole bundle), and commander from its own bundle', async () => {
    const help = await distFilesLoadedBy('help', ['--help']);
    expect(help.code, help.stderr).toBe(0);
    expect(help.files).toContain('cli/main.js');
    expect(help.files).not.toContain('cli/commands/run.js');
    // commander's bundle is read as a file, with its code cache: no file of the package, and no
    // node:child_process, which commander wants only for subcommands that are executables.
    expect(help.packages).not.toContain('commander');
    expect(help.builtins).not.toContain('child_process');

    const jobs = await distFilesLoadedBy('jobs', ['jobs']);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(jobs.files).toContain('cli/commands/jobs.js');
    expect(jobs.packages).not.toContain('commander');
  }, 60_000);
});

describe('the code cache of the bundle', () => {
  /** `batch run` of one prompt with the code cache in `cacheDir`; returns the cache files after it, name → size and time. */
  async function runWithCache(name: string, cacheDir: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Map<string, { readonly size: number; readonly mtimeMs: number }>> {
    const input = path.join(dir, `${name}.jsonl`);
    writeFileSync(input, `${JSON.stringify({ id: name, prompt: `prompt ${name}`, max_tokens: 4 })}\n`);
    const result = await runCliProcess(['run', ...(args.length > 0 ? args : [input, '--server', sim.url, '--quiet'])], {
      cwd: dir,
      env: { BATCH_HOME: path.join(dir, `home-${name}`), BATCH_CODE_CACHE_DIR: cacheDir, ...env },
    });
    expect(result.code, result.stderr).toBe(0);
    const files = new Map<string, { size: number; mtimeMs: number }>();
    for (const file of readdirSync(cacheDir, { withFileTypes: true })) {
      if (!file.isFile()) continue;
      const { size, mtimeMs } = statSync(path.join(cacheDir, file.name));
      files.set(file.name, { size, mtimeMs });
    }
    return files;
  }

  it('the first run writes it, the next runs use it as it is; a `batch run --help` first leaves a cache the first run rewrites', async () => {
    const cacheDir = path.join(dir, 'code-cache');
    const first = await runWithCache('first', cacheDir);
    expect(first.size).toBe(1);
    const [name, written] = [...first][0]!;
    expect(name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}\.bin$/);
    // Accepted by V8 and enough for a run: not written again.
    expect((await runWithCache('second', cacheDir)).get(name)).toEqual(written);
    // Node flags in NODE_OPTIONS (V8 refuses a cache made with other flags): a cache of their own.
    const flagged = await runWithCache('flagged', cacheDir, [], { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --max-old-space-size=2048` });
    expect(flagged.size).toBe(2);
    expect(flagged.get(name)).toEqual(written);

    const afterHelp = path.join(dir, 'code-cache-help');
    const help = await runWithCache('help', afterHelp, ['--help']);
    const helpSize = help.get(name)!.size;
    const run = await runWithCache('after-help', afterHelp);
    expect(run.get(name)!.size).toBeGreaterThan(helpSize * 1.5);
  }, 60_000);

  it('a cache V8 refuses is written again, and a cache that cannot be written only costs time: the run answers every prompt', async () => {
    const cacheDir = path.join(dir, 'code-cache-refused');
    const [name] = [...(await runWithCache('refused-1', cacheDir)).keys()];
    const file = path.join(cacheDir, name!);
    const good = readFileSync(file);
    // The header as written, then bytes that are no code cache.
    const refused = Buffer.concat([good.subarray(0, 8), Buffer.alloc(good.length - 8, 7)]);
    writeFileSync(file, refused);
    await runWithCache('refused-2', cacheDir);
    const rewritten = readFileSync(file);
    expect(rewritten.equals(refused)).toBe(false);
    expect(rewritten.length).toBeGreaterThan(100_000);

    // A file where the folder should be: nothing can be written under it.
    const blocked = path.join(dir, 'code-cache-blocked');
    writeFileSync(blocked, 'not a folder');
    const result = await runCliProcess(['run', path.join(dir, 'first.jsonl'), '--server', sim.url, '--quiet', '--json'], {
      cwd: dir,
      env: { BATCH_HOME: path.join(dir, 'home-blocked'), BATCH_CODE_CACHE_DIR: path.join(blocked, 'cache') },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ exitCode: 0 });
  }, 60_000);

  it('a cache folder the kernel refuses although its parent is there (/proc) costs nothing: the run and --help exit (recursive mkdir spun there forever at exit)', async () => {
    const refusing = path.join('/proc', `batch-no-such-folder-${process.pid}`, 'code-cache');
    const env = { BATCH_HOME: path.join(dir, 'home-proc'), BATCH_CODE_CACHE_DIR: refusing };
    const input = path.join(dir, 'proc.jsonl');
    writeFileSync(input, `${JSON.stringify({ id: 'proc', prompt: 'prompt proc', max_tokens: 4 })}\n`);
    const run = await runCliProcess(['run', input, '--server', sim.url, '--quiet', '--json'], { cwd: dir, env, timeoutMs: 30_000 });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ exitCode: 0 });
    const help = await runCliProcess(['--help'], { cwd: dir, env, timeoutMs: 30_000 });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: batch/);
  }, 90_000);
});
