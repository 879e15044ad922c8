import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { jobDbPath } from '../../src/store/job-paths.js';
import { chat, done, feed } from '../store/fixtures.js';
import { startCli } from '../helpers/run-cli.js';

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
    const run = startCli(['export', 'big', '--format', format], { env: { BATCH_HOME: home } });
    // What `head -1` does: read the first chunk, then close its end of the pipe.
    await once(run.child.stdout!, 'data');
    run.child.stdout!.destroy();
    const result = await run.done;
    expect(result.stderr).not.toMatch(/EPIPE|\n\s+at |INTERNAL/);
    expect(result.code).toBe(0);
  });
});
