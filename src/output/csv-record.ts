import type { FinishedItem } from './finished-item.js';

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

/** The UTF-8 byte order mark: without it, spreadsheets read UTF-8 CSV as the local code page. */
export const csvBom = '\uFEFF';

/**
 * Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"): a model's
 * answer or a custom_id starting with `=`, `+`, `-`, `@`, or a tab or carriage return that hides
 * one, would run when the file is opened. Such cells get a leading `'`, which shows the text as typed.
 */
const formulaStart = /^[=+\-@\t\r]/;

/** RFC 4180: quote a field holding a comma, quote or line break, doubling inner quotes. Formula-like text is neutralised. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const text = formulaStart.test(value) ? `'${value}` : value;
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

/**
 * The model that answered: the one the scheduler reported, else the answer's own `model`, else
 * the one the request named. Empty only when none of them says.
 */
export function answeringModel(item: FinishedItem): string | null {
  const answered = item.response?.body.model;
  return item.servedModel ?? (typeof answered === 'string' && answered !== '' ? answered : null) ?? item.model;
}

/** One CSV record (without the line break) for a finished item. */
export function toCsvRecord(item: FinishedItem): string {
  return [
    item.customId,
    item.status,
    answeringModel(item),
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
