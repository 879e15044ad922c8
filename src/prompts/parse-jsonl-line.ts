import { describeValue, isJsonObject } from '../util/describe-value.js';
import { parseOpenAiBatchLine } from './parse-openai-batch-line.js';
import { parseSimpleLine } from './parse-simple-line.js';
import { invalidDraft, type JsonlLineContext, type PromptDraft } from './prompt-draft.js';

export type { JsonlLineContext };

const PREVIEW_CHARS = 60;

/**
 * Parses one non-blank JSONL line in either format: OpenAI Batch API lines (`custom_id`, `method`,
 * `url`, `body`) or simple lines (`prompt` or `messages`, plus parameters). The format is decided
 * per line, so both can be mixed in one file.
 */
export function parseJsonlLine(text: string, context: JsonlLineContext): PromptDraft {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return invalidDraft(context.source, undefined, context.source, `expected a JSON object, got malformed JSON (${reason}) in ${preview(text)}`);
  }
  if (!isJsonObject(value)) {
    return invalidDraft(
      context.source,
      undefined,
      context.source,
      `expected a JSON object with "prompt", "messages" or "custom_id" and "body", got ${kindOf(value)}`,
    );
  }
  return isOpenAiBatchLine(value) ? parseOpenAiBatchLine(value, context) : parseSimpleLine(value, context);
}

// A line that names any of the Batch API's envelope fields is meant as one, so its mistakes are
// reported against that format ("expected `url` …") rather than as a missing "prompt".
function isOpenAiBatchLine(value: Record<string, unknown>): boolean {
  return 'body' in value || 'url' in value || 'method' in value;
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string (${describeValue(value)})`;
  if (typeof value === 'number' || typeof value === 'boolean') return `a ${typeof value} (${String(value)})`;
  return describeValue(value);
}

function preview(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > PREVIEW_CHARS ? `\`${trimmed.slice(0, PREVIEW_CHARS)}…\`` : `\`${trimmed}\``;
}
