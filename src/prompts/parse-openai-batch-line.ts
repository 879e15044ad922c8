import { checkMessages, checkParam } from './check-request-fields.js';
import { describeValue, isJsonObject } from '../util/describe-value.js';
import { checkPriority, priorityOf } from './prompt-priority.js';
import { invalidDraft, type JsonlLineContext, type PromptDraft } from './prompt-draft.js';
import type { PromptEndpoint } from './prompt-item.js';

const ENDPOINTS: readonly PromptEndpoint[] = ['/v1/chat/completions', '/v1/completions'];

/**
 * Validates an OpenAI Batch API input line (`{custom_id, method, url, body}`, as also read by
 * vLLM's `run-batch`). The body is passed through unchanged once its essentials check out. A
 * top-level `priority` beside `custom_id` orders the sending (`body.priority` is the server's own,
 * vLLM's priority scheduling, and is sent as it is).
 */
export function parseOpenAiBatchLine(line: Record<string, unknown>, context: JsonlLineContext): PromptDraft {
  const { source } = context;
  const customId = line.custom_id;
  if (typeof customId !== 'string' || customId === '') {
    const detail =
      customId === undefined
        ? 'expected a `custom_id` string next to `body` (OpenAI Batch format), got none'
        : `expected \`custom_id\` to be a non-empty string, got ${describeValue(customId)}`;
    return invalidDraft(source, undefined, source, detail);
  }
  const fail = (detail: string): PromptDraft => invalidDraft(source, customId, source, detail);

  const priorityProblem = line.priority === undefined ? undefined : checkPriority(line.priority);
  if (priorityProblem !== undefined) return fail(priorityProblem);
  if (line.method !== 'POST') return fail(`expected \`method\` to be "POST", got ${describeValue(line.method)}`);
  const url = line.url;
  if (!ENDPOINTS.includes(url as PromptEndpoint)) {
    return fail(`expected \`url\` to be "/v1/chat/completions" or "/v1/completions", got ${describeValue(url)}`);
  }
  const endpoint = url as PromptEndpoint;
  const body = line.body;
  if (!isJsonObject(body)) return fail(`expected \`body\` to be a JSON object, got ${describeValue(body)}`);

  if (endpoint === '/v1/chat/completions') {
    const problem = checkMessages(body.messages, 'body.messages');
    if (problem !== undefined) return fail(problem);
  } else if (typeof body.prompt !== 'string') {
    return fail(`expected \`body.prompt\` to be a string for /v1/completions, got ${describeValue(body.prompt)}`);
  }
  for (const [key, value] of Object.entries(body)) {
    const problem = checkParam(key, value, `body.${key}`);
    if (problem !== undefined) return fail(problem);
  }
  return { ok: true, customId, source, endpoint, body, ...priorityOf(line.priority) };
}
