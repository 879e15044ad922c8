import type { FinishedItem } from '../../src/output/finished-item.js';
import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';
import type { PromptRecord } from '../../src/prompts/prompt-item.js';
import type { ItemOutcome } from '../../src/store/item-outcome.js';

export function chat(customId: string, index: number, body: Record<string, unknown> = {}): PromptRecord {
  return {
    ok: true,
    item: {
      customId,
      index,
      source: `in.jsonl:${index + 1}`,
      endpoint: '/v1/chat/completions',
      body: { messages: [{ role: 'user', content: customId }], ...body },
    },
  };
}

export function invalid(customId: string, index: number, message = 'in.jsonl: expected a JSON object, got an array'): PromptRecord {
  return { ok: false, invalid: { customId, index, source: `in.jsonl:${index + 1}`, message } };
}

export async function* feed(records: readonly PromptRecord[]): AsyncGenerator<PromptRecord> {
  yield* records;
}

export function done(customId: string, extra: Partial<ItemOutcome> = {}): ItemOutcome {
  return {
    customId,
    status: 'done',
    attempts: 1,
    response: {
      statusCode: 200,
      requestId: `req-${customId}`,
      body: { choices: [{ message: { role: 'assistant', content: `answer ${customId}` } }] },
    },
    latencyMs: 100,
    promptTokens: 3,
    completionTokens: 5,
    finishedAt: Date.now(),
    ...extra,
  };
}

export function testIo(cwd: string, env: Record<string, string> = {}): CliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env,
    cwd,
    isTTY: false,
    softStop: new AbortController().signal,
    hardStop: new AbortController().signal,
    out: () => out,
    err: () => err,
  };
}

/** A finished item as export reads it: answered 'hi' by model `m`, unless `extra` says otherwise. */
export function finishedItem(extra: Partial<FinishedItem> = {}): FinishedItem {
  return {
    customId: 'a',
    index: 0,
    status: 'done',
    endpoint: '/v1/chat/completions',
    model: null,
    servedModel: null,
    response: { statusCode: 200, requestId: 'r', body: { model: 'm', choices: [{ message: { content: 'hi' } }] } },
    error: null,
    promptTokens: 1,
    completionTokens: 2,
    latencyMs: 3,
    invalid: false,
    duplicateOf: null,
    cached: false,
    ...extra,
  };
}
