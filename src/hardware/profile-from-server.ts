import { UsageError } from '../errors.js';
import { ASSUMED_MODEL } from './advise.js';
import type { ModelProfile } from './model-profile.js';

/**
 * What a server tells about one of its models. Ollama: `/api/tags` `size` (or `/api/ps` `size`
 * and `context_length`). llama-server: `/v1/models` `meta.size`, `meta.n_params`,
 * `meta.n_ctx_train` (null while loading), `/props` `default_generation_settings.n_ctx`.
 */
export interface ServerModelReport {
  /** The model id as requests name it. */
  readonly id: string;
  /** Bytes of the model's weights (the file size). */
  readonly sizeBytes: number;
  /** Parameters, when the server says. @default 0 (unknown) */
  readonly parameterCount?: number;
  /** Context the model was trained for, or the context the server runs it with. @default 0 (unknown) */
  readonly contextLength?: number;
}

function check(name: string, value: unknown, required: boolean): void {
  if (value === undefined && !required) return;
  if (!(typeof value === 'number' && Number.isFinite(value) && value >= (name === 'sizeBytes' ? 1 : 0))) {
    throw new UsageError(`server model report: expected \`${name}\` to be a ${name === 'sizeBytes' ? 'positive' : 'non-negative'} number, got ${JSON.stringify(value)}`);
  }
}

/**
 * A partial profile of a model known only from a server's listing. The layer and head shape is
 * unknown (0, so no partial-offload layer counts are given for it), and the KV cache per token is
 * estimated by scaling the assumed 8B 4-bit model's (131072 B/token for 4.92 GB) to this size:
 * KV grows with layers × width as weights do, so this is right within a factor of about 2 for
 * common 4-bit Llama-shaped models, which is enough to size slots and context.
 */
export function profileFromServer(report: ServerModelReport): ModelProfile {
  if (typeof report.id !== 'string' || report.id === '') {
    throw new UsageError(`server model report: expected \`id\` to be a non-empty string, got ${JSON.stringify(report.id)}`);
  }
  check('sizeBytes', report.sizeBytes, true);
  check('parameterCount', report.parameterCount, false);
  check('contextLength', report.contextLength, false);
  const kvBytesPerToken = Math.round((ASSUMED_MODEL.kvBytesPerToken * report.sizeBytes) / ASSUMED_MODEL.fileBytes);
  return {
    id: report.id,
    // Not a file on this machine: the server holds it.
    path: '',
    fileBytes: report.sizeBytes,
    weightBytes: report.sizeBytes,
    parameterCount: report.parameterCount ?? 0,
    layers: 0,
    heads: 0,
    kvHeads: 0,
    headDim: 0,
    trainedContext: report.contextLength ?? 0,
    kvBytesPerToken,
  };
}
