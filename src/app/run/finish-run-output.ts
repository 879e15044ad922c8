import type { CheckpointStore } from '../../store/checkpoint-store.js';
import type { OutputAppenderResult } from '../../output/output-appender.js';
import { writeOutput } from '../../output/write-output.js';
import { outputTargetOf, releaseFifoChecks } from '../../util/output-target.js';

/**
 * Completes a run's output once its result writer is closed: the file that grew is complete, or
 * it is written whole now. A character device or FIFO was streamed to as answers landed and is
 * never written a second time (its reader would get those lines twice): the error that stopped it,
 * if one did, is thrown; otherwise it holds the finished prefix, and `batch export` writes the rest.
 */
export async function finishRunOutput(store: CheckpointStore, jobId: number, out: string, output: OutputAppenderResult | undefined): Promise<void> {
  try {
    if (output?.complete === true) return;
    if (output !== undefined && outputTargetOf(out, '--out').mode === 'stream') {
      if (output.error !== undefined) throw output.error;
      if (output.lines > 0) return;
    }
    await writeOutput(store, jobId, { path: out, format: 'jsonl' });
  } finally {
    // FIFOs checked before sending were held open until their output was written (by the writer's
    // thread, or just now): their readers see the end only now.
    releaseFifoChecks();
  }
}
