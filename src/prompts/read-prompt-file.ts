import { readFile } from 'node:fs/promises';
import { PromptError } from '../errors.js';
import { decodeUtf8, describeInvalidUtf8, isBinary } from './decode-utf8.js';
import { chatBodyOf, frontMatterRequest } from './front-matter-request.js';
import { parseFrontMatter } from './parse-front-matter.js';
import { priorityOf } from './prompt-priority.js';
import { invalidDraft, type PromptDraft } from './prompt-draft.js';

/** How one prompt file is named. */
export interface ReadPromptFileOptions {
  /** The file as the user sees it: the record's source and the prefix of its messages. */
  readonly source: string;
  readonly customId: string;
}

/**
 * Reads a .txt/.md file as one chat prompt: optional YAML front matter (model, system, json_schema,
 * request parameters: see parseFrontMatter), then the user message. Problems with the content yield an invalid draft;
 * a file that cannot be read at all throws, since that is the environment, not the prompt.
 */
export async function readPromptFile(filePath: string, options: ReadPromptFileOptions): Promise<PromptDraft> {
  const { source, customId } = options;
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PromptError('PROMPT_FILE_INVALID', source, `cannot read the prompt file (${reason}); check that it exists and is readable`);
  }
  const fail = (location: string, detail: string): PromptDraft => invalidDraft(source, customId, location, detail);

  if (isBinary(bytes)) return fail(source, 'expected a text file, got binary data (it contains NUL bytes); save prompts as UTF-8 text');
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) {
    // lastIndexOf with a negative start would search from the end, hence the guard.
    const lineStart = decoded.offset === 0 ? 0 : bytes.lastIndexOf(0x0a, decoded.offset - 1) + 1;
    const line = countNewlines(bytes, decoded.offset) + 1;
    return fail(`${source}:${line}`, describeInvalidUtf8(decoded.byte, decoded.offset - lineStart + 1));
  }
  if (decoded.text.trim() === '') return fail(source, 'expected a prompt, got an empty file');

  const parsed = parseFrontMatter(decoded.text);
  if (!parsed.ok) return fail(`${source}:${parsed.line}`, parsed.detail);
  const prompt = parsed.body.trim();
  if (prompt === '') return fail(source, 'expected a prompt after the front matter, got only the front matter');

  const request = await frontMatterRequest(parsed.fields, parsed.keyLines, filePath);
  if (!request.ok) return fail(`${source}:${request.line}`, request.detail);
  const body = chatBodyOf(request.fields, prompt);
  return { ok: true, customId, source, endpoint: '/v1/chat/completions', body, ...priorityOf(parsed.priority) };
}

function countNewlines(bytes: Uint8Array, end: number): number {
  let count = 0;
  for (let i = 0; i < end; i += 1) if (bytes[i] === 0x0a) count += 1;
  return count;
}
