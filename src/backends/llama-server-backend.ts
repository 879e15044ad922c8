import type { CompletionRequest, CompletionResult, EndpointInfo, ServerType } from './backend.js';
import { answerShapeOf } from './answer-shape.js';
import { mapHttpError, parseJsonAnswer } from './map-backend-error.js';
import { OpenAiBackend } from './openai-backend.js';

/**
 * llama.cpp's llama-server: the OpenAI API plus /health (503 while loading), /props (slots and
 * context per slot) and `timings` in answers (read by the OpenAI adapter into promptMs/predictedMs).
 */
/** What OpenAI's json_object asks for: a JSON object. */
const anyObject = { type: 'object' } as const;

export class LlamaServerBackend extends OpenAiBackend {
  override readonly type: ServerType = 'llama-server';

  /**
   * Its chat endpoint reads OpenAI's `response_format` json_schema, but constrains a json_object
   * only when `response_format.schema` (its extension) says how; its completion endpoint ignores
   * `response_format` and reads only its own `json_schema` field. Each gets the shape where it
   * reads it, turned into a grammar, unless the request brings a grammar or schema of its own.
   */
  override complete(request: CompletionRequest): Promise<CompletionResult> {
    const shape = answerShapeOf(request.body);
    if (shape === undefined || request.body.json_schema !== undefined || request.body.grammar !== undefined) return super.complete(request);
    const schema = shape.kind === 'json_schema' ? shape.schema : anyObject;
    if (request.endpoint === '/v1/completions') return super.complete({ ...request, body: { ...request.body, json_schema: schema } });
    const format = request.body.response_format as Readonly<Record<string, unknown>>;
    if (shape.kind === 'json_schema' || format.schema !== undefined) return super.complete(request);
    return super.complete({ ...request, body: { ...request.body, response_format: { ...format, schema } } });
  }

  override async describe(): Promise<EndpointInfo> {
    const [answer, models] = await Promise.all([
      this.http.send('GET', '/props', undefined, { timeoutMs: this.probeTimeoutMs }),
      // Older builds have no /v1/models; they serve their one model whatever the request names.
      this.listModels().catch((): string[] => []),
    ]);
    if (answer.statusCode !== 200) throw mapHttpError(answer.statusCode, answer.headers, answer.text, this.url, undefined, this.type);
    const props = parseJsonAnswer(answer.text, this.url);
    const settings = (props.default_generation_settings ?? {}) as Record<string, unknown>;
    const slots = typeof props.total_slots === 'number' && props.total_slots > 0 ? props.total_slots : undefined;
    const contextSize = typeof settings.n_ctx === 'number' && settings.n_ctx > 0 ? settings.n_ctx : undefined;
    return { type: this.type, slots, contextSize, models };
  }

  override health(): Promise<'ok' | 'loading' | 'down'> {
    return this.probeHealth('/health');
  }
}
