import { randomUUID } from 'node:crypto';
import { readRequestBody, sendJson } from '../util/http-json.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GgufInfo } from '../models/gguf-reader.js';
import { bearerTokenMatches } from './bearer-token.js';
import type { EmbeddedEngine } from './embedded-engine.js';
import { GenerationAbortedError, GenerationRequestError, GenerationSchemaError } from './generation-errors.js';
import type { GenerationResult } from './generation-request.js';
import {
  OpenAiRequestError,
  openAiErrorBody,
  parseChatRequest,
  parseCompletionRequest,
  parseJsonBody,
  type SamplingParams,
} from './embedded-openai.js';

/** What the request handlers share with the server; `engine` appears once the model is loaded. */
export interface EmbeddedRouteState {
  readonly modelId: string;
  readonly modelPath: string;
  readonly model: GgufInfo;
  readonly maxTokensDefault: number;
  engine: EmbeddedEngine | undefined;
  loadError: string | undefined;
  /** Aborted when the server closes: running generations stop. */
  readonly closing: AbortSignal;
  /** When set, every route but /health wants `Authorization: Bearer <apiKey>`, as llama-server with --api-key. */
  readonly apiKey: string | undefined;
}

/** Bodies beyond this are refused: a prompt this large cannot fit any context we run. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Routes one HTTP request. Never throws: every failure becomes an OpenAI-style error answer. */
export function handleEmbeddedRequest(state: EmbeddedRouteState, request: IncomingMessage, response: ServerResponse): void {
  route(state, request, response).catch((error: unknown) => {
    const failure =
      error instanceof OpenAiRequestError ? error : new OpenAiRequestError(500, error instanceof Error ? error.message : String(error), 'server_error');
    if (!response.headersSent) {
      sendJson(response, failure.status, openAiErrorBody(failure));
    } else if (!response.writableEnded) {
      response.end(`data: ${JSON.stringify(openAiErrorBody(failure))}\n\n`);
    }
  });
}

async function route(state: EmbeddedRouteState, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  const method = request.method ?? 'GET';
  if (method === 'GET' && (path === '/health' || path === '/v1/health')) return health(state, response);
  if (state.apiKey !== undefined && !hasKey(request, state.apiKey)) {
    throw new OpenAiRequestError(401, 'Invalid API Key', 'authentication_error');
  }
  if (method === 'GET' && path === '/props') return props(state, response);
  if (method === 'GET' && path === '/slots') return sendJson(response, 200, state.engine?.slotStates() ?? []);
  if (method === 'GET' && (path === '/v1/models' || path === '/models')) return models(state, response);
  if (method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions')) return complete(state, request, response, 'chat');
  if (method === 'POST' && (path === '/v1/completions' || path === '/completions')) return complete(state, request, response, 'text');
  throw new OpenAiRequestError(404, `no route for ${method} ${path}; the embedded server serves /health, /props, /slots, /v1/models, /v1/chat/completions and /v1/completions`, 'not_found_error');
}

/** Whether the request carries `Bearer <key>` (the scheme in any case), compared in constant time. */
function hasKey(request: IncomingMessage, key: string): boolean {
  return bearerTokenMatches(request.headers.authorization, key);
}

function health(state: EmbeddedRouteState, response: ServerResponse): void {
  if (state.engine !== undefined) return sendJson(response, 200, { status: 'ok' });
  if (state.loadError !== undefined) return sendJson(response, 500, { error: { code: 500, message: `Loading model failed: ${state.loadError}`, type: 'server_error' } });
  sendJson(response, 503, { error: { code: 503, message: 'Loading model', type: 'unavailable_error' } });
}

function props(state: EmbeddedRouteState, response: ServerResponse): void {
  const engine = state.engine;
  sendJson(response, 200, {
    total_slots: engine?.slotCount ?? 0,
    default_generation_settings: { n_ctx: engine?.contextSize ?? 0, params: { n_predict: state.maxTokensDefault } },
    model_path: state.modelPath,
    chat_template: engine?.chatWrapperName ?? null,
    build_info: engine?.buildInfo ?? 'node-llama-cpp (loading)',
    is_loading: engine === undefined,
  });
}

function models(state: EmbeddedRouteState, response: ServerResponse): void {
  const meta = state.engine === undefined ? null : { n_ctx_train: state.engine.trainContextSize, n_params: state.model.parameterCount, size: state.model.weightBytes };
  sendJson(response, 200, {
    object: 'list',
    data: [{ id: state.modelId, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'batch', meta }],
  });
}

/** Whether a request's `model` names this server's model (its id, path, or file name without .gguf). */
function namesThisModel(state: EmbeddedRouteState, requested: string): boolean {
  return requested === state.modelId || requested === state.modelPath || requested === state.modelId.replace(/\.gguf$/i, '');
}

async function complete(state: EmbeddedRouteState, request: IncomingMessage, response: ServerResponse, kind: 'chat' | 'text'): Promise<void> {
  const body = parseJsonBody(await readBody(request));
  const parsed = kind === 'chat' ? parseChatRequest(body, state.maxTokensDefault) : parseCompletionRequest(body, state.maxTokensDefault);
  if (parsed.model !== undefined && !namesThisModel(state, parsed.model)) {
    throw new OpenAiRequestError(404, `model ${JSON.stringify(parsed.model)} is not served here; this server serves ${JSON.stringify(state.modelId)}`, 'not_found_error', 'model_not_found');
  }
  const engine = state.engine;
  if (engine === undefined) {
    if (state.loadError !== undefined) throw new OpenAiRequestError(500, `Loading model failed: ${state.loadError}`, 'server_error');
    throw new OpenAiRequestError(503, 'Loading model', 'unavailable_error');
  }
  const tokens = 'messages' in parsed ? engine.tokenizeChat(parsed.messages) : engine.tokenizeText(parsed.prompt);
  const stop = 'messages' in parsed ? [...parsed.stop, ...engine.chatStops] : parsed.stop;
  try {
    engine.checkPrompt(tokens);
  } catch (error) {
    throw toRequestError(error);
  }

  const aborted = new AbortController();
  const onClose = (): void => {
    if (!response.writableFinished) aborted.abort();
  };
  response.on('close', onClose);
  const signal = AbortSignal.any([aborted.signal, state.closing]);
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const envelope = { id, object: kind === 'chat' ? 'chat.completion' : 'text_completion', created, model: state.modelId };
  try {
    if (!parsed.stream) {
      const result = await generate(engine, tokens, parsed, stop, signal);
      sendJson(response, 200, { ...envelope, choices: [finalChoice(kind, result)], ...usage(result) });
      return;
    }
    const chunkEnvelope = { ...envelope, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion' };
    let headersWritten = false;
    const writeChunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}): void => {
      if (!headersWritten) {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        headersWritten = true;
      }
      response.write(`data: ${JSON.stringify({ ...chunkEnvelope, choices: [{ index: 0, ...choice }], ...extra })}\n\n`);
    };
    if (kind === 'chat') writeChunk({ delta: { role: 'assistant', content: '' }, finish_reason: null });
    const result = await generate(engine, tokens, parsed, stop, signal, (text) =>
      writeChunk(kind === 'chat' ? { delta: { content: text }, finish_reason: null } : { text, finish_reason: null }),
    );
    writeChunk(kind === 'chat' ? { delta: {}, finish_reason: result.finishReason } : { text: '', finish_reason: result.finishReason }, usage(result));
    response.end('data: [DONE]\n\n');
  } finally {
    response.off('close', onClose);
  }
}

async function generate(
  engine: EmbeddedEngine,
  tokens: Parameters<EmbeddedEngine['generate']>[0]['tokens'],
  params: SamplingParams,
  stop: readonly string[],
  signal: AbortSignal,
  onText?: (text: string) => void,
): Promise<GenerationResult> {
  try {
    return await engine.generate({
      tokens,
      maxTokens: params.maxTokens,
      temperature: params.temperature,
      topP: params.topP,
      ...(params.seed === undefined ? {} : { seed: params.seed }),
      stop,
      signal,
      ...(onText === undefined ? {} : { onText }),
      ...(params.jsonSchema === undefined ? {} : { jsonSchema: params.jsonSchema }),
    });
  } catch (error) {
    throw toRequestError(error);
  }
}

function toRequestError(error: unknown): unknown {
  if (error instanceof GenerationRequestError) return new OpenAiRequestError(400, error.message, 'invalid_request_error', 'context_length_exceeded');
  if (error instanceof GenerationSchemaError) return new OpenAiRequestError(400, error.message, 'invalid_request_error');
  if (error instanceof GenerationAbortedError) return new OpenAiRequestError(503, 'the server is shutting down: the request was stopped before it finished; send it again', 'unavailable_error');
  return error;
}

function finalChoice(kind: 'chat' | 'text', result: GenerationResult): Record<string, unknown> {
  return kind === 'chat'
    ? { index: 0, message: { role: 'assistant', content: result.text }, finish_reason: result.finishReason, logprobs: null }
    : { index: 0, text: result.text, finish_reason: result.finishReason, logprobs: null };
}

function usage(result: GenerationResult): Record<string, unknown> {
  return {
    usage: { prompt_tokens: result.promptTokens, completion_tokens: result.completionTokens, total_tokens: result.promptTokens + result.completionTokens },
    timings: result.timings,
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const body = await readRequestBody(request, MAX_BODY_BYTES);
  if (body === undefined) throw new OpenAiRequestError(413, `the request body is larger than ${MAX_BODY_BYTES} bytes; send smaller prompts`, 'invalid_request_error');
  return body.toString('utf8');
}
