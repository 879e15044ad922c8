/**
 * Worker thread of `ThreadedResultWriter`: owns its own connection to the job database and
 * commits each batch the main thread posts in one transaction, so no request waits on SQLite.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CheckpointStore } from './checkpoint-store.js';
import type { WriterEntry, WriterReply, WriterRequest } from './threaded-result-writer.js';

const { path, jobId } = workerData as { readonly path: string; readonly jobId: number };
const port = parentPort!;
const store = CheckpointStore.open({ path });
// Commits happen when the main thread says so: one transaction per posted batch.
const writer = store.createResultWriter(jobId, { flushIntervalMs: 2 ** 31 - 1, maxBatch: Number.MAX_SAFE_INTEGER });

function reply(message: WriterReply): void {
  port.postMessage(message);
}

function apply(entries: readonly WriterEntry[]): void {
  for (const entry of entries) {
    if (entry.kind === 'running') writer.markRunning(entry.customId);
    else writer.record(entry.outcome);
  }
}

port.on('message', (request: WriterRequest) => {
  void (async () => {
    try {
      if (request.type === 'batch') {
        apply(request.entries);
        await writer.flush();
        reply({ type: 'committed', seq: request.seq });
      } else {
        await writer.close();
        store.close();
        reply({ type: 'closed' });
        port.close();
      }
    } catch (error) {
      reply({ type: 'failed', seq: request.type === 'batch' ? request.seq : undefined, message: (error as Error).message });
      if (request.type === 'close') {
        store.close();
        port.close();
      }
    }
  })();
});
