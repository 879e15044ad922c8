/**
 * Worker thread of `ThreadedResultWriter`: owns its own connection to the job database and
 * commits each batch the main thread posts in one transaction, so no request waits on SQLite.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toAppError } from '../errors.js';
import { CheckpointStore } from './checkpoint-store.js';
import type { ResultWriter } from './result-writer.js';
import type { OutputAppenderOptions } from '../output/output-appender.js';
import type { WriterEntry, WriterOutput, WriterReply, WriterRequest } from './threaded-result-writer.js';

const { path, jobId, output } = workerData as { readonly path: string; readonly jobId: number; readonly output?: OutputAppenderOptions };
const port = parentPort!;

function reply(message: WriterReply): void {
  port.postMessage(message);
}

/** The error as data that survives postMessage: its stable code and message. */
function failed(seq: number | undefined, error: unknown): WriterReply {
  const { code, message } = toAppError(error);
  return { type: 'failed', seq, code, message };
}

function outputOf(writer: ResultWriter): WriterOutput | undefined {
  const result = writer.output;
  if (result === undefined) return undefined;
  return result.error === undefined ? { complete: result.complete, lines: result.lines } : { complete: false, lines: result.lines, errorMessage: result.error.message };
}

function apply(writer: ResultWriter, entries: readonly WriterEntry[]): void {
  for (const entry of entries) {
    if (entry.kind === 'running') writer.markRunning(entry.customId, entry.at);
    else writer.record(entry.outcome);
  }
}

function start(): void {
  let store: CheckpointStore | undefined;
  let writer: ResultWriter;
  try {
    store = CheckpointStore.open({ path });
    // Commits happen when the main thread says so: one transaction per posted batch.
    // The output grows here too, after the commits: the main thread never writes it line by line.
    writer = store.createResultWriter(jobId, { flushIntervalMs: 2 ** 31 - 1, maxBatch: Number.MAX_SAFE_INTEGER, output });
  } catch (error) {
    // The thread cannot write at all: say why, by code, and end.
    store?.close();
    reply(failed(undefined, error));
    port.close();
    return;
  }
  const opened = store;
  port.on('message', (request: WriterRequest) => {
    void (async () => {
      try {
        if (request.type === 'batch') {
          apply(writer, request.entries);
          await writer.flush();
          reply({ type: 'committed', seq: request.seq });
        } else if (request.type === 'known-before') {
          writer.knownBefore(request.idx);
        } else if (request.type === 'reading-ended') {
          writer.readingEnded();
        } else {
          await writer.close();
          opened.close();
          reply({ type: 'closed', output: outputOf(writer) });
          port.close();
        }
      } catch (error) {
        reply(failed(request.type === 'batch' ? request.seq : undefined, error));
        if (request.type === 'close') {
          opened.close();
          port.close();
        }
      }
    })();
  });
}

start();
