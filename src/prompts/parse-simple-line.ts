import { checkMessages, checkParam } from './check-request-fields.js';
import { describeValue } from '../util/describe-value.js';
import { checkPriority, priorityOf } from './prompt-priority.js';
import { invalidDraft, type JsonlLineContext, type PromptDraft } from './prompt-draft.js';

/**
 * Reads a simple JSONL line: `{"id"?, "prompt" | "messages", "model"?, "system"?, …params}`.
 * `prompt` becomes a user message; `system` is prepended unless the messages start with one;
 * `priority` (a number, higher first) orders the sending and is not sent; every other key is a
 * request parameter and goes into the body unchanged.
 */
export function parseSimpleLine(line: Record<string, unknown>, context: JsonlLineContext): PromptDraft {
  const { source } = context;
  const { id, custom_id: customIdField, prompt, messages, system, priority, ...params } = line;

  // `custom_id` is accepted as a synonym so that ids survive a round trip through our own output.
  const rawId = customIdField ?? id;
  const idField = customIdField === undefined ? 'id' : 'custom_id';
  let customId: string | undefined;
  if (rawId !== undefined) {
    const valid = (typeof rawId === 'string' && rawId !== '') || (typeof rawId === 'number' && Number.isFinite(rawId));
    if (!valid) {
      return invalidDraft(source, undefined, source, `expected \`${idField}\` to be a non-empty string or a number, got ${describeValue(rawId)}`);
    }
    customId = String(rawId);
  }
  const fail = (detail: string): PromptDraft => invalidDraft(source, customId, source, detail);

  const problem =
    (priority === undefined ? undefined : checkPriority(priority)) ?? (system === undefined ? undefined : checkParam('system', system)) ?? firstParamProblem(params);
  if (problem !== undefined) return fail(problem);

  let chat: readonly unknown[];
  if (prompt !== undefined && messages !== undefined) {
    return fail('expected either `prompt` or `messages`, got both; keep one');
  } else if (prompt !== undefined) {
    if (typeof prompt !== 'string') return fail(`expected \`prompt\` to be a string, got ${describeValue(prompt)}`);
    if (prompt.trim() === '') return fail(`expected \`prompt\` to be a non-empty string, got ${describeValue(prompt)}`);
    chat = [{ role: 'user', content: prompt }];
  } else if (messages !== undefined) {
    const messagesProblem = checkMessages(messages, 'messages');
    if (messagesProblem !== undefined) return fail(messagesProblem);
    chat = messages as readonly unknown[];
  } else {
    const keys = Object.keys(line);
    const seen = keys.length === 0 ? 'an empty object' : `only ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
    return fail(`expected a "prompt" string or a "messages" array, got ${seen}`);
  }

  const startsWithSystem = (chat[0] as { role?: unknown } | undefined)?.role === 'system';
  const withSystem = typeof system === 'string' && !startsWithSystem ? [{ role: 'system', content: system }, ...chat] : chat;
  const { model, ...rest } = params;
  const body = { ...(model === undefined ? {} : { model }), messages: withSystem, ...rest };
  return { ok: true, customId: customId ?? context.fallbackId, source, endpoint: '/v1/chat/completions', body, ...priorityOf(priority) };
}

function firstParamProblem(params: Record<string, unknown>): string | undefined {
  for (const [key, value] of Object.entries(params)) {
    const problem = checkParam(key, value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
