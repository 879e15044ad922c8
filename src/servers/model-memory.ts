import { basename } from 'node:path';
import { ServerError } from '../errors.js';

/** Estimated memory of one resident model server. */
export interface ModelMemoryEstimate {
  /** The weights: the GGUF file size. */
  readonly weightsBytes: number;
  /** KV cache for every slot's context. */
  readonly kvCacheBytes: number;
  readonly totalBytes: number;
}

/** What a model's server runs with, for its estimate. */
export interface ModelMemoryShape {
  readonly slots: number;
  readonly contextSize: number;
}

/** Estimates a model's memory from its file. */
export type EstimateModelMemory = (modelPath: string, shape: ModelMemoryShape) => Promise<ModelMemoryEstimate>;

/**
 * GGUF file size + f16 KV bytes per token × context × slots, read from the GGUF header. A file
 * whose header lacks the attention shape counts its weights only.
 */
export async function estimateModelMemory(modelPath: string, shape: ModelMemoryShape): Promise<ModelMemoryEstimate> {
  const { readGgufInfo } = await import('../models/gguf-reader.js');
  const info = await readGgufInfo(modelPath);
  const weightsBytes = info.fileBytes;
  const kvCacheBytes = (info.kvBytesPerToken ?? 0) * shape.contextSize * shape.slots;
  return { weightsBytes, kvCacheBytes, totalBytes: weightsBytes + kvCacheBytes };
}

/** MODEL_TOO_LARGE for a model that cannot fit in the budget even alone, with its numbers. */
export function modelTooLargeError(modelPath: string, estimate: ModelMemoryEstimate, shape: ModelMemoryShape, budgetBytes: number): ServerError {
  return new ServerError(
    'MODEL_TOO_LARGE',
    `model ${basename(modelPath)} needs ~${formatGiB(estimate.totalBytes)} GiB (weights ${formatGiB(estimate.weightsBytes)} GiB + KV cache ` +
      `${formatGiB(estimate.kvCacheBytes)} GiB for ${shape.slots} slots × ${shape.contextSize} ctx) but the budget is ${formatGiB(budgetBytes)} GiB; ` +
      'use fewer slots (--slots), a smaller --ctx, or a smaller quantisation',
  );
}

/** Bytes as GiB with two decimals (three significant digits for tiny values, so nothing reads as 0). */
export function formatGiB(bytes: number): string {
  const gib = bytes / 2 ** 30;
  if (gib === 0 || gib >= 0.01) return gib.toFixed(2);
  return gib.toPrecision(2);
}
