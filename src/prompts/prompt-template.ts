import { readFile } from 'node:fs/promises';
import { PromptError } from '../errors.js';
import { decodeUtf8, describeInvalidUtf8, isBinary } from './decode-utf8.js';
import { chatBodyOf, frontMatterRequest } from './front-matter-request.js';
import { parseFrontMatter } from './parse-front-matter.js';

/** A `{{column}}` in the template, where it is. */
export interface Placeholder {
  readonly column: string;
  /** 1-based line of the template file. */
  readonly line: number;
}

/** A prompt template read and checked once, filled in per row. */
export interface PromptTemplate {
  /** The template file as the user gave it. */
  readonly display: string;
  /** Every placeholder, in order of appearance (a column used twice appears twice). */
  readonly placeholders: readonly Placeholder[];
  /** Its front matter's `priority:`, every row's unless `--priority-column` gives the row one. */
  readonly priority?: number;
  /** The chat request of one row: `lookup` gives a column's value (every placeholder's column exists). */
  render(lookup: (column: string) => string): { readonly body: Record<string, unknown>; readonly prompt: string };
}

/** `{{ column }}`: the name is everything between the braces, spaces around it trimmed. */
const PLACEHOLDER = /\{\{\s*([^{}\n]*?)\s*\}\}/g;

/**
 * Reads a template: YAML front matter as in prompt files (model, system, json_schema, request
 * parameters), then the prompt text. `{{column}}` placeholders in the prompt and in `system` are
 * filled from each row, once: a value holding `{{…}}` is sent as it is. Any problem with the
 * template throws PROMPT_FILE_INVALID (every row would fail the same way), naming file:line.
 */
export async function loadPromptTemplate(filePath: string, display: string): Promise<PromptTemplate> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (error) {
    throw new PromptError('PROMPT_FILE_INVALID', display, `cannot read the template (${(error as Error).message}); check --template`);
  }
  const refuse = (line: number | undefined, detail: string): PromptError =>
    new PromptError('PROMPT_FILE_INVALID', line === undefined ? display : `${display}:${line}`, detail);
  if (isBinary(bytes)) throw refuse(undefined, 'expected a text file, got binary data (it contains NUL bytes); save the template as UTF-8 text');
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) throw refuse(undefined, describeInvalidUtf8(decoded.byte, decoded.offset + 1));
  const parsed = parseFrontMatter(decoded.text.replace(/^\uFEFF/, ''));
  if (!parsed.ok) throw refuse(parsed.line, parsed.detail);
  const request = await frontMatterRequest(parsed.fields, parsed.keyLines, filePath);
  if (!request.ok) throw refuse(request.line, request.detail);

  // Leading blank lines are trimmed like the prompt's, so line numbers count from the first kept line.
  const leading = parsed.body.length - parsed.body.trimStart().length;
  const bodyLine = parsed.bodyLine + countNewlines(parsed.body.slice(0, leading));
  const text = parsed.body.trim();
  if (text === '') throw refuse(undefined, 'expected a prompt with {{column}} placeholders after the front matter, got no text');
  const system = typeof request.fields.system === 'string' ? request.fields.system : undefined;
  const placeholders = [
    ...(system === undefined ? [] : placeholdersOf(system, () => parsed.keyLines.system ?? 1)),
    ...placeholdersOf(text, (offset) => bodyLine + countNewlines(text.slice(0, offset))),
  ];
  const empty = placeholders.find((placeholder) => placeholder.column === '');
  if (empty !== undefined) throw refuse(empty.line, 'expected a column name inside {{ }}, got nothing');

  return {
    display,
    placeholders,
    ...(parsed.priority === undefined ? {} : { priority: parsed.priority }),
    render(lookup) {
      const fill = (template: string): string => template.replace(PLACEHOLDER, (_match, column: string) => lookup(column));
      const prompt = fill(text);
      return { body: chatBodyOf(request.fields, prompt, system === undefined ? undefined : fill(system)), prompt };
    },
  };
}

function placeholdersOf(text: string, lineAt: (offset: number) => number): Placeholder[] {
  return [...text.matchAll(PLACEHOLDER)].map((match) => ({ column: match[1]!, line: lineAt(match.index) }));
}

function countNewlines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count += 1;
  return count;
}
