import { createHash } from 'node:crypto';
import type { FinishedItem } from './store-records.js';

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
}

/**
 * `batch_req_` plus 24 hex digits derived from the job and custom id: the same item keeps the
 * same id across exports and resumes, as consumers may key on it.
 */
export function batchRequestId(jobName: string, customId: string): string {
  return `batch_req_${createHash('sha256').update(`${jobName}\0${customId}`).digest('hex').slice(0, 24)}`;
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
  };
}

/** The CSV header, in column order. */
export const csvColumns = [
  'custom_id',
  'status',
  'model',
  'content',
  'error_code',
  'error_message',
  'prompt_tokens',
  'completion_tokens',
  'latency_ms',
] as const;

/** RFC 4180: quote a field holding a comma, quote or line break, doubling inner quotes. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** `choices[0].message.content` (chat) or `choices[0].text` (completions), else empty. */
export function responseContent(body: Readonly<Record<string, unknown>> | undefined): string {
  const choices = body?.choices;
  if (!Array.isArray(choices)) return '';
  const first: unknown = choices[0];
  if (first === null || typeof first !== 'object') return '';
  const { message, text } = first as { message?: unknown; text?: unknown };
  if (message !== null && typeof message === 'object') {
    const content = (message as { content?: unknown }).content;
    if (typeof content === 'string') return content;
  }
  return typeof text === 'string' ? text : '';
}

/** One CSV record (without the line break) for a finished item. */
export function toCsvRecord(item: FinishedItem): string {
  return [
    item.customId,
    item.status,
    item.servedModel ?? item.model,
    responseContent(item.response?.body),
    item.error?.code,
    item.error?.message,
    item.promptTokens,
    item.completionTokens,
    item.latencyMs,
  ]
    .map(csvField)
    .join(',');
}
