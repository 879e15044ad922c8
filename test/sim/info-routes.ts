import type { ServerResponse } from 'node:http';
import { modelSizeBytes } from './model-residency.js';
import { isLoading, loadingBody, sendJson, type SimContext } from './sim-context.js';

const ollamaVersion = '0.12.6';
const digestOf = (model: string): string => `sha256:${model.length.toString(16).padStart(64, '0')}`;
/** What Ollama writes for a model kept forever (`keep_alive` < 0). */
const foreverIso = '2318-08-28T02:44:39.000Z';

function ollamaModel(model: string): Record<string, unknown> {
  return {
    name: model,
    model,
    modified_at: '2026-01-01T00:00:00Z',
    size: modelSizeBytes(model),
    digest: digestOf(model),
    details: { format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '1B', quantization_level: 'Q4_K_M' },
  };
}

function openAiModels(context: SimContext, ownedBy: string, withMeta: boolean): string {
  const loading = isLoading(context);
  const data = context.options.models.map((id) => {
    const entry: Record<string, unknown> = { id, object: 'model', created: context.startedAtSeconds, owned_by: ownedBy };
    if (withMeta) {
      entry['meta'] = loading
        ? null
        : { vocab_type: 1, n_vocab: 32000, n_ctx_train: context.options.contextSize, n_embd: 2048, n_params: 1_000_000_000, size: modelSizeBytes(id) };
    }
    return entry;
  });
  return JSON.stringify({ object: 'list', data });
}

function llamaServerInfo(context: SimContext, path: string, res: ServerResponse): boolean {
  const { options, queue } = context;
  switch (path) {
    case '/health':
    case '/v1/health':
      if (isLoading(context)) sendJson(res, 503, loadingBody);
      else sendJson(res, 200, '{"status":"ok"}');
      return true;
    case '/v1/models':
    case '/models':
      sendJson(res, 200, openAiModels(context, 'llamacpp', true));
      return true;
    case '/props':
    case '/slots':
      if (isLoading(context)) sendJson(res, 503, loadingBody);
      else if (path === '/props') {
        sendJson(
          res,
          200,
          JSON.stringify({
            default_generation_settings: { n_ctx: options.contextSize, params: { n_predict: -1, temperature: 0.8 } },
            total_slots: options.slots,
            model_path: options.modelPath,
            chat_template: '',
            build_info: 'b6000-sim',
          }),
        );
      } else {
        const slots = Array.from({ length: options.slots }, (_, id) => ({ id, n_ctx: options.contextSize, is_processing: id < queue.inService }));
        sendJson(res, 200, JSON.stringify(slots));
      }
      return true;
    default:
      return false;
  }
}

function ollamaInfo(context: SimContext, path: string, res: ServerResponse): boolean {
  switch (path) {
    case '/':
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Ollama is running');
      return true;
    case '/api/version':
      sendJson(res, 200, JSON.stringify({ version: ollamaVersion }));
      return true;
    case '/api/tags':
      sendJson(res, 200, JSON.stringify({ models: context.options.models.map(ollamaModel) }));
      return true;
    case '/api/ps': {
      const models = context.residency.list().map(([model, expiresAt]) => {
        const size = modelSizeBytes(model);
        return {
          ...ollamaModel(model),
          size_vram: size,
          expires_at: Number.isFinite(expiresAt) ? new Date(expiresAt).toISOString() : foreverIso,
          context_length: context.options.contextSize,
        };
      });
      sendJson(res, 200, JSON.stringify({ models }));
      return true;
    }
    case '/v1/models':
      sendJson(res, 200, openAiModels(context, 'library', false));
      return true;
    default:
      return false;
  }
}

/** Answers the flavour's GET endpoints; returns false for a path the flavour does not have. */
export function answerInfo(context: SimContext, path: string, res: ServerResponse): boolean {
  switch (context.options.flavour) {
    case 'llama-server':
      return llamaServerInfo(context, path, res);
    case 'ollama':
      return ollamaInfo(context, path, res);
    case 'openai':
      if (path !== '/v1/models') return false;
      sendJson(res, 200, openAiModels(context, 'sim', false));
      return true;
  }
}
