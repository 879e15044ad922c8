import type { FinishedItem } from './finished-item.js';
import type { OutputRow } from './output-line.js';

/** Which finished items an output holds. */
export interface OutputSelection {
  /** Only failed items. @default false */
  readonly failedOnly?: boolean;
}

/**
 * What writing a job's output reads: its name and its finished items in input order. The output
 * formats sit below the store (test/layers.test.ts), so they name what they need here and the
 * store's `JobReader` (and `CheckpointStore`) provides it.
 */
export interface OutputSource {
  /** The job database, for messages. */
  readonly path: string;
  /** The job with id `jobId`, if the database has it. */
  getJobById(jobId: number): { readonly name: string } | undefined;
  /** The finished items as the JSONL output needs them (stored answers as text), in input order. */
  outputRows(jobId: number, options: OutputSelection): Iterable<OutputRow>;
  /** The finished items in input order, read a page at a time. */
  finishedItems(jobId: number, options: OutputSelection): AsyncIterable<FinishedItem>;
}
