import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simAnswer, startSimServer, type SimServer } from './sim/sim-server.js';

// The library as a user gets it: the package's own name, resolved through package.json
// `exports` to the build (`npm run build` first), not the TS sources the other tests import.
const batch = await import('batch');
const repoRoot = path.resolve(import.meta.dirname, '..');

/** The names README's "Using it as a library" shows in its `import { … } from 'batch'`. */
function readmeLibraryNames(): string[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using it as a library'));
  const list = /import \{([^}]+)\} from 'batch'/.exec(section)?.[1];
  if (list === undefined) throw new Error("README's \"Using it as a library\" has no `import { … } from 'batch'`");
  return list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== '…');
}

describe("the package entry (import … from 'batch')", () => {
  it('resolves through package.json exports to dist/index.js', () => {
    const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; exports: { '.': { import: string } } };
    expect(manifest.name).toBe('batch');
    expect(fileURLToPath(import.meta.resolve('batch'))).toBe(path.join(repoRoot, manifest.exports['.'].import));
  });

  it("exports every name README's library section lists", () => {
    const names = readmeLibraryNames();
    expect(names).toEqual(expect.arrayContaining(['runJob', 'readPrompts', 'CheckpointStore', 'settingsTable']));
    const missing = names.filter((name) => !(name in batch) || (batch as Record<string, unknown>)[name] === undefined);
    expect(missing, 'README names these, the package does not export them').toEqual([]);
    expect(typeof batch.runJob).toBe('function');
    expect(typeof batch.CheckpointStore.open).toBe('function');
    expect(batch.settingsTable.some((row) => row.key === 'workers')).toBe(true);
  });

  it('exports the error classes users match on, with their stable codes', () => {
    const error = new batch.AppError('PROMPT_FILE_INVALID', 'q.jsonl:1: not JSON');
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('PROMPT_FILE_INVALID');
    expect(batch.ExitCode.Ok).toBe(0);
  });
});

describe('runJob from the package, against the simulated server', () => {
  let dir: string;
  let sim: SimServer;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'batch-library-'));
    sim = await startSimServer({ slots: 2, serviceMs: 1 });
  });
  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a job and its answers read back through CheckpointStore', async () => {
    const input = path.join(dir, 'questions.jsonl');
    const prompts = ['first question', 'second question', 'third question'];
    writeFileSync(input, prompts.map((prompt, i) => JSON.stringify({ id: `q${i}`, prompt })).join('\n') + '\n');
    const notices: string[] = [];
    const summary = await batch.runJob(
      { inputs: [input], servers: [sim.url], job: 'library', workers: 2 },
      { cwd: dir, env: { BATCH_HOME: path.join(dir, 'home'), BATCH_OFFLINE: '1' }, stdin: Readable.from([]), notice: (line) => notices.push(line), argv: [] },
    );
    expect(summary).toMatchObject({ job: 'library', exitCode: 0, total: 3, done: 3, failed: 0, sent: 3 });
    expect(sim.stats().completed).toBe(3);

    const store = batch.CheckpointStore.open({ path: summary.database, readonly: true });
    try {
      const job = store.getJob('library');
      expect(job, `no job "library" in ${summary.database}`).toBeDefined();
      const answers = new Map<string, unknown>();
      for await (const item of store.finishedItems(job!.id)) {
        const body = item.response?.body as { choices: Array<{ message: { content: string } }> } | undefined;
        answers.set(item.customId, item.status === 'done' ? body?.choices[0]?.message.content : item.error);
      }
      expect(Object.fromEntries(answers)).toEqual({ q0: simAnswer('first question'), q1: simAnswer('second question'), q2: simAnswer('third question') });
    } finally {
      store.close();
    }
    // The output file the CLI would write is there too, one line per prompt.
    expect(readFileSync(summary.output, 'utf8').trim().split('\n')).toHaveLength(3);
  });
});
