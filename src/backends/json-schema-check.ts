import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';

let shared: Ajv2020 | undefined;

/**
 * One validator for every schema of a run: draft 2020-12, all errors (a message lists several),
 * unknown keywords ignored as the draft says (OpenAI's `strict` and vendor extensions appear in
 * real schemas), and `format` an annotation, as in draft 2020-12 without the format vocabulary.
 * Loaded on first use (synchronously): ajv costs ~200 ms to import, which a run without a schema
 * should not pay.
 */
function ajv(): Ajv2020 {
  if (shared === undefined) {
    const { Ajv2020: Validator } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    shared = new Validator({ strict: false, allErrors: true, validateFormats: false });
  }
  return shared;
}

/** Compiled validators by schema text: every prompt of a run usually shares one schema. */
const compiled = new Map<string, { readonly source: object; readonly validate: ValidateFunction }>();
/** Bounds the cache: a JSONL file may give each line its own schema. */
const maxCached = 256;

/** Validation errors shown in a message; the rest are counted. */
const shownErrors = 3;

/**
 * Why `schema` is not a usable JSON Schema (draft 2020-12), or undefined when it is: it must be a
 * JSON object that the draft's meta-schema accepts and whose references resolve.
 */
export function jsonSchemaProblem(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return `expected a JSON Schema object, got ${Array.isArray(schema) ? 'an array' : schema === null ? 'null' : typeof schema}`;
  }
  if (!ajv().validateSchema(schema)) return `not a valid JSON Schema (draft 2020-12): ${describeErrors(ajv().errors ?? [])}`;
  try {
    validatorOf(schema as Readonly<Record<string, unknown>>);
  } catch (error) {
    return `not a usable JSON Schema (draft 2020-12): ${(error as Error).message}`;
  }
  return undefined;
}

/**
 * Checks `value` against `schema` (one that `jsonSchemaProblem` accepts): undefined when it
 * matches, else the first few errors as `instance path: message`.
 */
export function schemaMismatch(schema: Readonly<Record<string, unknown>>, value: unknown): string | undefined {
  const validate = validatorOf(schema);
  return validate(value) ? undefined : describeErrors(validate.errors ?? []);
}

function validatorOf(schema: Readonly<Record<string, unknown>>): ValidateFunction {
  const key = JSON.stringify(schema);
  const cached = compiled.get(key);
  if (cached !== undefined) return cached.validate;
  // Without its `$id`, so that two schemas naming one `$id` never clash in the shared instance.
  const source = { ...schema, $id: undefined };
  const validate = ajv().compile(source);
  if (compiled.size >= maxCached) {
    const [oldest, entry] = compiled.entries().next().value as [string, { source: object }];
    compiled.delete(oldest);
    ajv().removeSchema(entry.source);
  }
  compiled.set(key, { source, validate });
  return validate;
}

/** `/path: message; …` for the first few distinct errors, `(and N more)` for the rest. */
export function describeErrors(errors: readonly ErrorObject[]): string {
  const lines = [...new Set(errors.map((error) => `${error.instancePath === '' ? '/' : error.instancePath}: ${error.message ?? error.keyword}`))];
  const shown = lines.slice(0, shownErrors).join('; ');
  return lines.length > shownErrors ? `${shown} (and ${lines.length - shownErrors} more)` : shown;
}
