import { createHash } from 'node:crypto';
import type { FinishedItem } from './store-records.js';
import { wholeJobName } from './shard-job-name.js';

/** One line of OpenAI Batch output. */
export interface BatchOutputLine {
  readonly id: string;
  readonly custom_id: string;
  readonly response: {
    readonly status_code: number;
    readonly request_id: string;
    readonly body: Readonly<Record<string, unknown>>;
  } | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  /** The answer parsed as JSON, when the request asked for a JSON shape (`batch`'s own field). */
  readonly answer?: unknown;
}

/**
 * `batch_req_` plus 24 hex digits derived from the job and custom id: the same item keeps the
 * same id across exports and resumes, as consumers may key on it. A shard's job counts as the
 * whole job (`wholeJobName`), so the shards' lines are those one run of all the inputs writes.
 */
export function batchRequestId(jobName: string, customId: string): string {
  return `batch_req_${createHash('sha256').update(`${wholeJobName(jobName)}\0${customId}`).digest('hex').slice(0, 24)}`;
}

/**
 * The OpenAI Batch output line for a finished item. A failed item that got an HTTP answer keeps
 * it in `response` and also sets `error`, so nothing the server said is lost.
 */
export function toBatchOutputLine(jobName: string, item: FinishedItem): BatchOutputLine {
  return {
    id: batchRequestId(jobName, item.customId),
    custom_id: item.customId,
    response:
      item.response === null
        ? null
        : { status_code: item.response.statusCode, request_id: item.response.requestId, body: item.response.body },
    error:
      item.status === 'failed'
        ? (item.error ?? { code: 'INTERNAL', message: 'failed without a recorded reason' })
        : null,
    ...(item.answer === undefined ? {} : { answer: item.answer }),
  };
}

export { csvColumns, csvField, responseContent, toCsvRecord } from './csv-record.js';
