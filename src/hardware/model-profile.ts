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
 * The planning profile of a GGUF model. A header without the attention shape gives 0 for what
 * it lacks (and a KV cache of 0), so a model with an unusual architecture still gets a plan
 * rather than an error; its memory is then its weights (see estimateModelMemory).
 */
export function profileModel(info: GgufInfo): ModelProfile {
  const heads = info.headCount ?? 0;
  return {
    id: basename(info.path).replace(/\.gguf$/i, ''),
    path: info.path,
    fileBytes: info.fileBytes,
    weightBytes: info.weightBytes,
    parameterCount: info.parameterCount,
    layers: info.blockCount ?? 0,
    heads,
    kvHeads: info.headCountKv ?? heads,
    headDim: info.headDim ?? 0,
    trainedContext: info.contextLength ?? 0,
    // The reader computes it from the header, the one place that formula lives.
    kvBytesPerToken: info.kvBytesPerToken ?? 0,
  };
}
