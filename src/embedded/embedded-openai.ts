import { describeValue } from '../util/describe-value.js';
import type { ChatMessage } from './embedded-engine.js';

/** A request the embedded server refuses, answered as an OpenAI-style error body. */
export class OpenAiRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'unavailable_error' | 'server_error',
    readonly errorCode?: string,
  ) {
    super(message);
    this.name = 'OpenAiRequestError';
  }
}

/** The OpenAI error body (`{"error": {...}}`), with llama-server's numeric `code` when there is no string one. */
export function openAiErrorBody(error: OpenAiRequestError): Record<string, unknown> {
  return { error: { code: error.errorCode ?? error.status, message: error.message, type: error.type } };
}

export interface SamplingParams {
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly seed?: number;
  readonly stop: readonly string[];
  readonly stream: boolean;
  /** The model the request names, if any. */
  readonly model?: string;
  /**
   * The JSON Schema the answer must follow, as llama-server reads it: its own `json_schema`
   * field, else `response_format` (json_schema's schema; json_object's `schema`, else any object).
   */
  readonly jsonSchema?: Readonly<Record<string, unknown>>;
}

export interface ParsedChatRequest extends SamplingParams {
  readonly messages: readonly ChatMessage[];
}

export interface ParsedCompletionRequest extends SamplingParams {
  readonly prompt: string;
}

/** llama-server's sampling defaults, so answers match what users see from it. */
const DEFAULT_TEMPERATURE = 0.8;
const DEFAULT_TOP_P = 0.95;

export function parseJsonBody(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new OpenAiRequestError(400, `the request body is not valid JSON (${(error as Error).message}); send a JSON object`, 'invalid_request_error');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new OpenAiRequestError(400, `expected the request body to be a JSON object, got ${describeValue(value)}`, 'invalid_request_error');
  }
  return value as Record<string, unknown>;
}

export function parseChatRequest(body: Record<string, unknown>, maxTokensDefault: number): ParsedChatRequest {
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new OpenAiRequestError(400, `expected \`messages\` to be a non-empty array, got ${describeValue(messages)}`, 'invalid_request_error');
  }
  return { ...parseSampling(body, maxTokensDefault), messages: messages.map(parseMessage) };
}

export function parseCompletionRequest(body: Record<string, unknown>, maxTokensDefault: number): ParsedCompletionRequest {
  let prompt = body['prompt'];
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') prompt = prompt[0];
  if (typeof prompt !== 'string') {
    throw new OpenAiRequestError(400, `expected \`prompt\` to be a string, got ${describeValue(prompt)}`, 'invalid_request_error');
  }
  return { ...parseSampling(body, maxTokensDefault), prompt };
}

function parseMessage(message: unknown, index: number): ChatMessage {
  if (typeof message !== 'object' || message === null) {
    throw new OpenAiRequestError(400, `expected \`messages[${index}]\` to be an object, got ${describeValue(message)}`, 'invalid_request_error');
  }
  const { role, content } = message as Record<string, unknown>;
  const mapped = role === 'developer' ? 'system' : role;
  if (mapped !== 'system' && mapped !== 'user' && mapped !== 'assistant') {
    throw new OpenAiRequestError(400, `expected \`messages[${index}].role\` to be "system", "user" or "assistant", got ${describeValue(role)}`, 'invalid_request_error');
  }
  return { role: mapped, content: contentText(content, index) };
}

/** Accepts a string or an array of `{type: "text", text}` parts (the newer OpenAI shape). */
function contentText(content: unknown, index: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) => {
        const text = typeof part === 'object' && part !== null ? (part as Record<string, unknown>)['text'] : undefined;
        if (typeof text !== 'string') {
          throw new OpenAiRequestError(400, `expected \`messages[${index}].content\` parts to be {"type": "text", "text": ...}, got ${describeValue(part)}`, 'invalid_request_error');
        }
        return text;
      })
      .join('');
  }
  throw new OpenAiRequestError(400, `expected \`messages[${index}].content\` to be a string, got ${describeValue(content)}`, 'invalid_request_error');
}

function parseSampling(body: Record<string, unknown>, maxTokensDefault: number): SamplingParams {
  const maxTokens = optionalNumber(body, 'max_tokens') ?? optionalNumber(body, 'max_completion_tokens') ?? optionalNumber(body, 'n_predict');
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 0)) {
    throw new OpenAiRequestError(400, `expected \`max_tokens\` to be a non-negative integer, got ${maxTokens}`, 'invalid_request_error');
  }
  const temperature = optionalNumber(body, 'temperature') ?? DEFAULT_TEMPERATURE;
  if (temperature < 0) throw new OpenAiRequestError(400, `expected \`temperature\` to be >= 0, got ${temperature}`, 'invalid_request_error');
  const topP = optionalNumber(body, 'top_p') ?? DEFAULT_TOP_P;
  if (!(topP > 0 && topP <= 1)) throw new OpenAiRequestError(400, `expected \`top_p\` to be in (0, 1], got ${topP}`, 'invalid_request_error');
  const seed = optionalNumber(body, 'seed');
  if (seed !== undefined && !Number.isInteger(seed)) throw new OpenAiRequestError(400, `expected \`seed\` to be an integer, got ${seed}`, 'invalid_request_error');
  const stream = body['stream'];
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw new OpenAiRequestError(400, `expected \`stream\` to be a boolean, got ${describeValue(stream)}`, 'invalid_request_error');
  }
  const model = body['model'];
  if (model !== undefined && model !== null && typeof model !== 'string') {
    throw new OpenAiRequestError(400, `expected \`model\` to be a string, got ${describeValue(model)}`, 'invalid_request_error');
  }
  return {
    maxTokens: maxTokens ?? maxTokensDefault,
    temperature,
    topP,
    // A negative seed means "random" in llama-server; node-llama-cpp wants none for that.
    ...(seed === undefined || seed < 0 ? {} : { seed: seed >>> 0 }),
    stop: parseStop(body['stop']),
    stream: stream === true,
    ...(typeof model === 'string' && model !== '' ? { model } : {}),
    ...parseJsonSchema(body),
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function parseJsonSchema(body: Record<string, unknown>): { jsonSchema?: Record<string, unknown> } {
  const own = body['json_schema'];
  if (own !== undefined && own !== null) {
    if (!isObject(own)) throw new OpenAiRequestError(400, `expected \`json_schema\` to be a JSON Schema object, got ${describeValue(own)}`, 'invalid_request_error');
    return { jsonSchema: own };
  }
  const format = body['response_format'];
  if (format === undefined || format === null) return {};
  if (!isObject(format)) throw new OpenAiRequestError(400, `expected \`response_format\` to be an object, got ${describeValue(format)}`, 'invalid_request_error');
  if (format['type'] === 'json_object') return { jsonSchema: isObject(format['schema']) ? format['schema'] : { type: 'object' } };
  if (format['type'] === 'json_schema') {
    const wrapper = format['json_schema'];
    const schema = isObject(wrapper) ? wrapper['schema'] : undefined;
    if (!isObject(schema)) throw new OpenAiRequestError(400, 'expected `response_format.json_schema.schema` to be a JSON Schema object', 'invalid_request_error');
    return { jsonSchema: schema };
  }
  if (format['type'] === 'text' || format['type'] === undefined) return {};
  throw new OpenAiRequestError(400, `response_format type must be one of "text", "json_object" or "json_schema", but got: ${describeValue(format['type'])}`, 'invalid_request_error');
}

function parseStop(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  if (typeof stop === 'string') return stop === '' ? [] : [stop];
  if (Array.isArray(stop) && stop.every((item) => typeof item === 'string')) return stop.filter((item) => item !== '');
  throw new OpenAiRequestError(400, `expected \`stop\` to be a string or an array of strings, got ${describeValue(stop)}`, 'invalid_request_error');
}

function optionalNumber(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new OpenAiRequestError(400, `expected \`${key}\` to be a number, got ${describeValue(value)}`, 'invalid_request_error');
  }
  return value;
}

