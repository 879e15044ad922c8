import { basename } from 'node:path';
import type { GgufInfo } from '../models/gguf-reader.js';

/** The numbers of a model that decide where it fits and how many sequences it can serve. */
export interface ModelProfile {
  /** File name without `.gguf` (the managed pool's id for it). */
  readonly id: string;
  readonly path: string;
  readonly fileBytes: number;
  /** Tensor bytes; what the weights occupy once loaded. */
  readonly weightBytes: number;
  readonly parameterCount: number;
  /** Transformer blocks (`-ngl` counts these). 0 when the file does not say. */
  readonly layers: number;
  readonly heads: number;
  /** Key/value heads (grouped-query attention shrinks the KV cache by heads / kvHeads). */
  readonly kvHeads: number;
  readonly headDim: number;
  /** Context the model was trained for; 0 when the file does not say. */
  readonly trainedContext: number;
  /** f16 KV cache bytes per token of context, per sequence. */
  readonly kvBytesPerToken: number;
}

/**
 * The planning profile of a GGUF model. When the header lacks the attention shape, the KV cache
 * is computed from what is there (kvHeads defaults to heads, headDim to embedding / heads) so a
 * model with an unusual architecture still gets a plan rather than an error.
 */
export function profileModel(info: GgufInfo): ModelProfile {
  const layers = info.blockCount ?? 0;
  const heads = info.headCount ?? 0;
  const kvHeads = info.headCountKv ?? heads;
  const headDim = info.headDim ?? (heads > 0 && info.embeddingLength !== undefined ? Math.floor(info.embeddingLength / heads) : 0);
  // K and V, 2 bytes each (f16), per layer, per kv head, per head dimension.
  const kvBytesPerToken = info.kvBytesPerToken ?? 2 * layers * kvHeads * headDim * 2;
  return {
    id: basename(info.path).replace(/\.gguf$/i, ''),
    path: info.path,
    fileBytes: info.fileBytes,
    weightBytes: info.weightBytes,
    parameterCount: info.parameterCount,
    layers,
    heads,
    kvHeads,
    headDim,
    trainedContext: info.contextLength ?? 0,
    kvBytesPerToken,
  };
}
