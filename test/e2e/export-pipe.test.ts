import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { jobDbPath } from '../../src/store/job-paths.js';
import { chat, done, feed } from '../store/fixtures.js';
import { startCliProcess } from '../helpers/run-cli-process.js';

let home: string;
/** Enough output (about 2 MB) that the pipe fills long before the export ends. */
const items = 2000;

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'batch-export-pipe-'));
  const store = CheckpointStore.open({ path: jobDbPath(home, 'big') });
  const job = store.openJob({ name: 'big', config: {}, inputFingerprint: 'f' });
  await store.ingest(job.id, feed(Array.from({ length: items }, (_, i) => chat(`p${i}`, i))));
  const writer = store.createResultWriter(job.id);
  const answer = 'x'.repeat(1000);
  for (let i = 0; i < items; i++) {
    writer.record(done(`p${i}`, { response: { statusCode: 200, requestId: `r${i}`, body: { choices: [{ message: { role: 'assistant', content: answer } }] } } }));
  }
  await writer.close();
  store.close();
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('batch export into a pipe its reader closes early (| head -1)', () => {
  it.each(['csv', 'jsonl'])('ends quietly with exit 0, no EPIPE stack (%s)', async (format) => {
    const run = startCliProcess(['export', 'big', '--format', format], { env: { BATCH_HOME: home } });
    // What `head -1` does: read the first chunk, then close its end of the pipe.
    await once(run.child.stdout!, 'data');
    run.child.stdout!.destroy();
    const result = await run.done;
    expect(result.stderr).not.toMatch(/EPIPE|\n\s+at |INTERNAL/);
    expect(result.code).toBe(0);
  });
});

describe('stdout on a full disk (> /dev/full)', () => {
  it.each([
    ['export', ['export', 'big']],
    ['status', ['status', 'big']],
    ['jobs', ['jobs']],
  ])('%s says the output could not be written, exit 3, no stack', async (_name, args) => {
    const { spawnSync } = await import('node:child_process');
    const { openSync, closeSync } = await import('node:fs');
    const full = openSync('/dev/full', 'w');
    try {
      const result = spawnSync(process.execPath, [path.join(import.meta.dirname, '../../bin/batch.js'), ...args], {
        env: { ...process.env, BATCH_HOME: home, CI: 'true' },
        stdio: ['ignore', full, 'pipe'],
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.stderr).toContain('batch: error [OUTPUT_WRITE_FAILED]: cannot write to standard output (ENOSPC)');
      expect(result.stderr).not.toMatch(/\n\s+at |INTERNAL/);
      expect(result.status).toBe(3);
    } finally {
      closeSync(full);
    }
  });
});
