import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { StoreError } from '../errors.js';
import { optionError } from '../util/check-option.js';
import { toBatchOutputText } from './output-line.js';
import { csvBom } from './csv-record.js';
import { CsvLayout } from './csv-layout.js';
import { writeFileAtomically } from './write-file-atomically.js';
import type { OutputSource } from './output-source.js';

/** The output formats `batch export` writes. */
export type OutputFormat = 'jsonl' | 'csv';

/** What to write. */
export interface OutputOptions {
  /**
   * `jsonl`: OpenAI Batch output lines. `csv`: one row per item with the answer's text, for
   * spreadsheets.
   */
  readonly format: OutputFormat;
  /** Only failed items (to inspect or re-run them). @default false */
  readonly failedOnly?: boolean;
  /** Start a CSV with a UTF-8 byte order mark, for spreadsheets (ignored for JSONL). @default false */
  readonly bom?: boolean;
}

/** Where and what `writeOutput` writes. */
export interface WriteOutputOptions extends OutputOptions {
  /** The output file. Written to `<path>.tmp` (0600) first, then renamed over it. */
  readonly path: string;
}

/** What was written. */
export interface WriteOutputResult {
  /** Items written (the CSV header is not counted). */
  readonly lines: number;
}

const csvLineBreak = '\r\n';

function validateFormat(format: unknown): OutputFormat {
  if (format !== 'jsonl' && format !== 'csv') {
    throw optionError('format', '"jsonl" or "csv"', format);
  }
  return format;
}

/** Writes `chunk`, waiting for the stream to drain when its buffer is full (backpressure). */
export async function write(stream: Writable, chunk: string): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

/**
 * Streams a job's finished items (done and failed, in input order) to `stream`; pending items are
 * left out. Waits for the stream to drain, so a slow consumer never makes the output pile up in
 * memory. The stream is not ended.
 */
export async function writeOutputTo(
  store: OutputSource,
  jobId: number,
  stream: Writable,
  options: OutputOptions,
): Promise<WriteOutputResult> {
  const format = validateFormat(options.format);
  const job = store.getJobById(jobId);
  if (job === undefined) {
    throw new StoreError('JOB_NOT_FOUND', `no job with id ${jobId} in ${store.path}; \`batch jobs\` lists them`);
  }
  let lines = 0;
  const failedOnly = options.failedOnly ?? false;
  if (format === 'jsonl') {
    for (const row of store.outputRows(jobId, { failedOnly })) {
      await write(stream, `${toBatchOutputText(job.name, row)}\n`);
      lines++;
    }
    return { lines };
  }
  // Input and answer columns depend on every row: a first pass decides them.
  const layout = await CsvLayout.of(store.finishedItems(jobId, { failedOnly }));
  await write(stream, (options.bom === true ? csvBom : '') + layout.header() + csvLineBreak);
  for await (const item of store.finishedItems(jobId, { failedOnly })) {
    await write(stream, layout.record(item) + csvLineBreak);
    lines++;
  }
  return { lines };
}

/**
 * Writes the output file atomically: readers see the old file or the complete new one, never a
 * half-written one, even if the process is killed meanwhile.
 */
export async function writeOutput(
  store: OutputSource,
  jobId: number,
  options: WriteOutputOptions,
): Promise<WriteOutputResult> {
  validateFormat(options.format);
  return writeFileAtomically(options.path, (stream) => writeOutputTo(store, jobId, stream, options));
}
