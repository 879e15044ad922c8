import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jsonSchemaResponseFormat } from '../backends/answer-shape.js';
import { jsonSchemaProblem } from '../backends/json-schema-check.js';
import { PromptError, UsageError } from '../errors.js';

/** A `--json-schema` file, checked and turned into the `response_format` prompts get. */
export interface LoadedJsonSchema {
  /** The file, as given. */
  readonly file: string;
  /**
   * OpenAI's `{"type":"json_schema","json_schema":{"name":…,"schema":…,"strict":true}}`; the name
   * is the schema's `title`, else the file's name.
   */
  readonly responseFormat: Readonly<Record<string, unknown>>;
}

/**
 * Reads and checks a JSON Schema file before anything is sent: a file that is not JSON fails
 * naming the line and column, one that is not a valid draft 2020-12 schema fails naming the
 * validator's first errors; both are usage errors (exit 2).
 */
export function loadJsonSchemaFile(file: string): LoadedJsonSchema {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new PromptError('PROMPT_FILE_INVALID', file, `cannot read the --json-schema file (${reason}); check that it exists and is readable`);
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    const message = (error as Error).message;
    const at = /at position (\d+)/.exec(message);
    const where = at === null ? file : `${file}:${lineAndColumn(text.replace(/^\uFEFF/, ''), Number(at[1]))}`;
    throw new UsageError(`${where}: --json-schema is not JSON (${message}); fix the file`);
  }
  const problem = jsonSchemaProblem(schema);
  if (problem !== undefined) {
    throw new UsageError(`${file}: --json-schema is ${problem}; fix the schema (https://json-schema.org/draft/2020-12)`);
  }
  const record = schema as Record<string, unknown>;
  const name = typeof record.title === 'string' && record.title.trim() !== '' ? record.title : path.basename(file).replace(/(\.schema)?\.json$/i, '');
  return { file, responseFormat: jsonSchemaResponseFormat(name, record) };
}

/** `line:column` (1-based) of a character offset. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
}
