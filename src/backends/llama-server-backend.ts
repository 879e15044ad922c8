import type { CompletionRequest, CompletionResult, EndpointInfo, ServerType } from './backend.js';
import { answerShapeOf } from './answer-shape.js';
import { mapHttpError, parseJsonAnswer } from './map-backend-error.js';
import { OpenAiBackend } from './openai-backend.js';

/**
 * llama.cpp's llama-server: the OpenAI API plus /health (503 while loading), /props (slots and
 * context per slot) and `timings` in answers (read by the OpenAI adapter into promptMs/predictedMs).
 */
export class LlamaServerBackend extends OpenAiBackend {
  override readonly type: ServerType = 'llama-server';

  /**
   * Its chat endpoint reads OpenAI's `response_format` (json_schema, json_object); its completion
   * endpoint ignores it and reads only its own `json_schema` field (turned into a grammar), so a
   * completion request gets the schema there too.
   */
  override complete(request: CompletionRequest): Promise<CompletionResult> {
    const shape = request.endpoint === '/v1/completions' ? answerShapeOf(request.body) : undefined;
    if (shape === undefined || request.body.json_schema !== undefined || request.body.grammar !== undefined) return super.complete(request);
    const schema = shape.kind === 'json_schema' ? shape.schema : { type: 'object' };
    return super.complete({ ...request, body: { ...request.body, json_schema: schema } });
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
