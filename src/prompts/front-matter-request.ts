import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describeValue, isJsonObject } from '../util/describe-value.js';

/** Front matter made ready for requests: `json_schema` became `response_format`. */
export type FrontMatterRequest =
  | { readonly ok: true; readonly fields: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly line: number; readonly detail: string };

/** The name the schema is sent under: OpenAI's json_schema format requires one. */
const SCHEMA_NAME = 'answer';

/**
 * Replaces front matter's `json_schema` (an object, or the path of a JSON file relative to the
 * prompt file) by the request's `response_format` in OpenAI's form,
 * `{"type": "json_schema", "json_schema": {"name": "answer", "schema": …, "strict": true}}`.
 * Backends translate it for servers that take the schema elsewhere.
 */
export async function frontMatterRequest(
  fields: Readonly<Record<string, unknown>>,
  keyLines: Readonly<Record<string, number>>,
  promptFile: string,
): Promise<FrontMatterRequest> {
  const { json_schema: given, ...rest } = fields;
  if (given === undefined) return { ok: true, fields };
  const line = keyLines.json_schema ?? 1;
  let schema: unknown = given;
  if (typeof given === 'string') {
    const schemaPath = path.resolve(path.dirname(promptFile), given);
    let text: string;
    try {
      text = await readFile(schemaPath, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      return { ok: false, line, detail: `cannot read the schema file ${JSON.stringify(given)} (${reason}, looked for ${schemaPath}); give a path relative to the prompt file` };
    }
    try {
      schema = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (error) {
      return { ok: false, line, detail: `expected the schema file ${JSON.stringify(given)} to hold JSON, got ${(error as Error).message}` };
    }
  }
  if (!isJsonObject(schema)) return { ok: false, line, detail: `expected \`json_schema\` to be a JSON Schema object, got ${describeValue(schema)}` };
  return { ok: true, fields: { ...rest, response_format: { type: 'json_schema', json_schema: { name: SCHEMA_NAME, schema, strict: true } } } };
}

/**
 * The chat request of a prompt: `model` first when given, the system prompt and the prompt as
 * messages, then the other fields as request parameters.
 */
export function chatBodyOf(fields: Readonly<Record<string, unknown>>, prompt: string, system: unknown = fields.system): Record<string, unknown> {
  const { model, system: _system, ...params } = fields;
  const messages = [...(typeof system === 'string' ? [{ role: 'system', content: system }] : []), { role: 'user', content: prompt }];
  return { ...(model === undefined ? {} : { model }), messages, ...params };
}
