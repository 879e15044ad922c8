import { hashText, simAnswer } from './sim-answer.js';
import type { CompletionRoute } from './sim-exchange.js';

type Json = Record<string, unknown>;

/** The JSON shape a request asks for: a schema, or any JSON (`{}`). */
export type RequestedShape = { readonly schema: Json };

/** What becomes of a prompt's JSON answers under `invalidJson` (chosen by a hash of its text). */
export type JsonFate = 'valid' | 'once' | 'always';

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The shape a request asks for, where each flavour reads it: OpenAI `response_format`
 * (json_schema or json_object), llama-server's own `json_schema` field, Ollama's `format`
 * (a schema object or "json").
 */
export function requestedShape(route: CompletionRoute, body: Readonly<Json>): RequestedShape | undefined {
  if (route.api === 'ollama') {
    const format = body['format'];
    if (isObject(format)) return { schema: format };
    return format === 'json' ? { schema: {} } : undefined;
  }
  if (isObject(body['json_schema'])) return { schema: body['json_schema'] };
  const format = body['response_format'];
  if (!isObject(format)) return undefined;
  if (format['type'] === 'json_object') return { schema: {} };
  const wrapper = format['json_schema'];
  return format['type'] === 'json_schema' && isObject(wrapper) && isObject(wrapper['schema']) ? { schema: wrapper['schema'] } : undefined;
}

/**
 * A value matching the simple schemas tests use (type, properties, items, enum, const): every
 * property present, strings made from the prompt, so each answer can be traced to its prompt.
 * An empty schema (any JSON) gets `{"answer": simAnswer}`.
 */
export function sampleInstance(schema: Readonly<Json>, promptText: string): unknown {
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum'])) return schema['enum'][0];
  const type = Array.isArray(schema['type']) ? schema['type'][0] : schema['type'];
  switch (type) {
    case 'string':
      return simAnswer(promptText);
    case 'integer':
    case 'number':
      return promptText.length;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'array':
      return [sampleInstance(isObject(schema['items']) ? schema['items'] : {}, promptText)];
    case 'object':
    case undefined: {
      const properties = isObject(schema['properties']) ? schema['properties'] : undefined;
      if (properties === undefined) return { answer: simAnswer(promptText) };
      return Object.fromEntries(Object.entries(properties).map(([name, sub]) => [name, sampleInstance(isObject(sub) ? sub : {}, promptText)]));
    }
    default:
      return simAnswer(promptText);
  }
}

/** The same value with its first property (or itself) of the wrong type: JSON that does not match. */
function mismatched(value: unknown): unknown {
  if (isObject(value)) {
    const [first] = Object.keys(value);
    if (first !== undefined) return { ...value, [first]: typeof value[first] === 'number' ? 'not-a-number' : 42 };
  }
  return typeof value === 'number' ? 'not-a-number' : 42;
}

/** Which prompts `invalidJson` breaks: decided by the prompt text alone, so a test can predict it. */
export function jsonFate(promptText: string, onceRate: number, alwaysRate: number): JsonFate {
  // FNV-1a of texts that differ in their last characters differ little in their high bits: mix them (MurmurHash3's fmix32).
  let h = parseInt(hashText(promptText), 16);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  const share = ((h ^ (h >>> 16)) >>> 0) / 0x1_0000_0000;
  if (share < alwaysRate) return 'always';
  return share < alwaysRate + onceRate ? 'once' : 'valid';
}

/**
 * Answers requests that ask for JSON: a matching instance, or, for the prompts `invalidJson`
 * picks, broken answers: `once` prompts answer text that is not JSON the first time, `always`
 * prompts answer JSON that does not match the schema (or, asked for any JSON, not JSON) every time.
 */
export class JsonAnswerer {
  readonly #onceRate: number;
  readonly #alwaysRate: number;
  /** JSON answers given per prompt text. */
  readonly #answered = new Map<string, number>();

  constructor(onceRate: number, alwaysRate: number) {
    this.#onceRate = onceRate;
    this.#alwaysRate = alwaysRate;
  }

  answer(shape: RequestedShape, promptText: string): string {
    const count = (this.#answered.get(promptText) ?? 0) + 1;
    this.#answered.set(promptText, count);
    const valid = JSON.stringify(sampleInstance(shape.schema, promptText));
    const fate = jsonFate(promptText, this.#onceRate, this.#alwaysRate);
    if (fate === 'valid' || (fate === 'once' && count > 1)) return valid;
    const anyJson = Object.keys(shape.schema).length === 0;
    if (fate === 'once' || anyJson) return `Sure! Here is the JSON: ${valid.slice(0, Math.ceil(valid.length / 2))}`;
    return JSON.stringify(mismatched(JSON.parse(valid)));
  }
}
