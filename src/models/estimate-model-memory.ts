/** What a model's memory estimate needs from its GGUF file (GgufInfo and ModelProfile both carry it). */
export interface ModelSizes {
  /** The GGUF file size: the weights as llama.cpp maps them. */
  readonly fileBytes: number;
  /** f16 KV cache bytes per token of context, per sequence; absent or 0 when the header lacks the attention shape. */
  readonly kvBytesPerToken?: number;
}

/** What a model's server runs with. */
export interface ModelMemoryShape {
  /** Sequences served at once, each with its own KV cache. */
  readonly slots: number;
  /** Context per slot, in tokens. */
  readonly contextSize: number;
}

/** Estimated memory of one resident model server. */
export interface ModelMemoryEstimate {
  /** The weights: the GGUF file size. */
  readonly weightsBytes: number;
  /** KV cache for every slot's context. */
  readonly kvCacheBytes: number;
  readonly totalBytes: number;
}

/**
 * The one memory estimate of a model, used by `batch optimize`'s plan and by `--memory-budget`:
 * GGUF file size + KV bytes per token × context × slots. A header without the attention shape
 * counts its weights only.
 */
export function estimateModelMemory(model: ModelSizes, shape: ModelMemoryShape): ModelMemoryEstimate {
  const weightsBytes = model.fileBytes;
  const kvCacheBytes = (model.kvBytesPerToken ?? 0) * shape.contextSize * shape.slots;
  return { weightsBytes, kvCacheBytes, totalBytes: weightsBytes + kvCacheBytes };
}
