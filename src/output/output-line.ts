import { createHash } from 'node:crypto';
import type { FinishedItem } from './finished-item.js';
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
  /**
   * Set when another model answered in place of the prompt's own (`--fallback`): `model` answered,
   * `from` is the prompt's own (`batch`'s own field).
   */
  readonly fallback?: { readonly from: string; readonly model: string | null };
}

/** An HTTP answer as the scheduler reports it. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly requestId: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** The stored columns one output line is made of (`items` as the database holds them). */
export interface OutputRow {
  readonly customId: string;
  readonly status: 'done' | 'failed';
  /** The `response` column: the text `storedResponseText` wrote, or null. */
  readonly response: string | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  /** The `answer` column: the parsed answer as the JSON text the writer stored; none: no answer. */
  readonly answer?: string | null;
  /** The `served_model` column: the model that answered. */
  readonly servedModel?: string | null;
  /** The `fallback_from` column: the prompt's own model when another answered (`--fallback`). */
  readonly fallbackFrom?: string | null;
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
 * The text stored in `items.response`: exactly the `response` member of the output line, so the
 * output can copy it instead of parsing and serialising every answer again.
 */
export function storedResponseText(response: StoredResponse): string {
  return JSON.stringify({ status_code: response.statusCode, request_id: response.requestId, body: response.body });
}

/**
 * What `storedResponseText` writes for an answer with a request id and an object body. JSON.stringify
 * is idempotent over its own output (parse then stringify gives the same text), so such a text is
 * the output's `response` member byte for byte. Anything else (no request id, a body that is not an
 * object) is parsed and serialised as before.
 */
const storedShape = /^\{"status_code":\d{1,4},"request_id":"(?:[^"\\]|\\.)*","body":\{/;

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
    ...(item.fallbackFrom == null ? {} : { fallback: { from: item.fallbackFrom, model: item.servedModel } }),
  };
}

/**
 * The output line of a stored row, without its line break: the same bytes as
 * `JSON.stringify(toBatchOutputLine(...))`, with the stored answer copied as text.
 */
export function toBatchOutputText(jobName: string, row: OutputRow): string {
  const response = row.response === null ? 'null' : storedShape.test(row.response) && row.response.endsWith('}') ? row.response : reserialize(row.response);
  const error =
    row.status === 'failed'
      ? JSON.stringify(row.errorCode === null ? { code: 'INTERNAL', message: 'failed without a recorded reason' } : { code: row.errorCode, message: row.errorMessage ?? '' })
      : 'null';
  // Stored by JSON.stringify, so copied as it is: the bytes serialising the parsed answer gives.
  const answer = row.answer === null || row.answer === undefined ? '' : `,"answer":${row.answer}`;
  const fallback = row.fallbackFrom == null ? '' : `,"fallback":${JSON.stringify({ from: row.fallbackFrom, model: row.servedModel ?? null })}`;
  return `{"id":"${batchRequestId(jobName, row.customId)}","custom_id":${JSON.stringify(row.customId)},"response":${response},"error":${error}${answer}${fallback}}`;
}

function reserialize(text: string): string {
  const stored = JSON.parse(text) as { status_code: number; request_id: string; body: Record<string, unknown> };
  return JSON.stringify({ status_code: stored.status_code, request_id: stored.request_id, body: stored.body });
}

export { csvColumns, csvField, responseContent, toCsvRecord } from './csv-record.js';
