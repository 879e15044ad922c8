import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliProcess } from '../helpers/run-cli-process.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

/**
 * Packages a run loads only when its prompts need them (BENCHMARKS.md, "What batch itself costs"):
 * yaml (~55 ms, ~8 MB) for front matter, csv-parse for a CSV table. The spawned CLI gets a preload
 * that records, at exit, every package file it loaded: through `import` (a resolve hook) and through
 * `require` (the CommonJS cache).
 */
let dir: string;
let sim: SimServer;
let preload: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-lazy-packages-'));
  sim = await startSimServer({ slots: 2 });
  const hooks = path.join(dir, 'hooks.mjs');
  writeFileSync(hooks, "import { appendFileSync } from 'node:fs';\nexport async function resolve(spec, ctx, next) { const r = await next(spec, ctx); appendFileSync(process.env.LOADED_FILE, r.url + '\\n'); return r; }\n");
  preload = path.join(dir, 'preload.mjs');
  writeFileSync(
    preload,
    [
      "import { appendFileSync } from 'node:fs';",
      "import { createRequire, register } from 'node:module';",
      `register(${JSON.stringify(pathToFileURL(hooks).href)});`,
      'const cache = createRequire(import.meta.url).cache;',
      "process.on('exit', () => appendFileSync(process.env.LOADED_FILE, Object.keys(cache).join('\\n') + '\\n'));",
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `batch run ...args` and returns the packages (folder names under node_modules) it loaded. */
async function packagesLoadedBy(name: string, args: readonly string[]): Promise<Set<string>> {
  const loadedFile = path.join(dir, `${name}.loaded.txt`);
  writeFileSync(loadedFile, '');
  const result = await runCliProcess(['run', ...args, '--server', sim.url, '--server-type', 'llama-server', '--quiet'], {
    env: { BATCH_HOME: path.join(dir, `home-${name}`), LOADED_FILE: loadedFile, NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` },
  });
  expect(result.code, result.stderr).toBe(0);
  const packages = readFileSync(loadedFile, 'utf8').split('\n').map((line) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line)?.[1]);
  return new Set(packages.filter((name): name is string => name !== undefined));
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
