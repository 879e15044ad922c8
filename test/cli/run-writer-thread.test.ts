import diagnostics from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { ThreadedResultWriter, type WriterReply } from '../../src/store/threaded-result-writer.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-writer-thread-'));
  sim = await startSimServer({ slots: 4, serviceMs: 1 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every worker thread this process starts while `body` runs, with the messages each sent back. */
async function watchWorkerThreads<T>(body: () => Promise<T>): Promise<{ result: T; threads: Array<{ readonly exitCode: Promise<number>; readonly replies: WriterReply[] }> }> {
  const threads: Array<{ readonly exitCode: Promise<number>; readonly replies: WriterReply[] }> = [];
  // Node publishes each new Worker on this channel from inside its constructor, before the
  // creator attaches its own listeners, so no reply is missed.
  const onWorker = (message: unknown): void => {
    const worker = (message as { readonly worker: Worker }).worker;
    const replies: WriterReply[] = [];
    worker.on('message', (reply: WriterReply) => replies.push(reply));
    threads.push({ replies, exitCode: new Promise((resolve) => worker.once('exit', resolve)) });
  };
  diagnostics.subscribe('worker_threads', onWorker);
  try {
    return { result: await body(), threads };
  } finally {
    diagnostics.unsubscribe('worker_threads', onWorker);
  }
}

describe('an in-process run uses the production writer thread', () => {
  it('finds the compiled worker from the TS sources (dist/ once `npm run build` has run)', () => {
    expect(ThreadedResultWriter.workerScript(), 'no dist/store/result-writer-worker.js: run `npm run build` first').toBe(path.resolve(import.meta.dirname, '../../dist/store/result-writer-worker.js'));
  });

  it('commits every answer and grows the output file on the worker thread', async () => {
    const input = path.join(dir, 'prompts.jsonl');
    writePrompts(input, 40, 'w');
    const out = path.join(dir, 'answers.jsonl');
    const home = path.join(dir, 'home');
    const { result, threads } = await watchWorkerThreads(() => runCliInProcess(['run', input, '--server', sim.url, '--job', 'threaded', '--out', out, '-q'], { env: { BATCH_HOME: home } }));
    expect(result.code, result.stderr).toBe(0);
    expect(threads).toHaveLength(1);
    const [thread] = threads;
    expect(await thread!.exitCode).toBe(0);
    // The thread acknowledged each group it committed, then reported the output it wrote.
    expect(thread!.replies.filter((reply) => reply.type === 'committed').length).toBeGreaterThan(0);
    expect(thread!.replies.filter((reply) => reply.type === 'failed')).toEqual([]);
    expect(thread!.replies.at(-1)).toEqual({ type: 'closed', output: { complete: true, lines: 40 } });
    expect(parseJsonl(readFileSync(out, 'utf8')).map((line) => line.custom_id).sort()).toEqual(Array.from({ length: 40 }, (_, i) => `w${i}`).sort());
    const store = CheckpointStore.open({ path: path.join(home, 'threaded.sqlite'), readonly: true });
    try {
      expect(store.listJobs()).toMatchObject([{ name: 'threaded', total: 40, done: 40 }]);
    } finally {
      store.close();
    }
  });
});
