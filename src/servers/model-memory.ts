import { basename } from 'node:path';
import { ServerError } from '../errors.js';
import { estimateModelMemory as estimateFromSizes, type ModelMemoryEstimate, type ModelMemoryShape } from '../models/estimate-model-memory.js';
import { formatGiB } from '../util/format-gib.js';

export type { ModelMemoryEstimate, ModelMemoryShape } from '../models/estimate-model-memory.js';

/** Estimates a model's memory from its file. */
export type EstimateModelMemory = (modelPath: string, shape: ModelMemoryShape) => Promise<ModelMemoryEstimate>;

/** The memory estimate (src/models/estimate-model-memory.ts) of the GGUF file at `modelPath`, from its header. */
export async function estimateModelMemory(modelPath: string, shape: ModelMemoryShape): Promise<ModelMemoryEstimate> {
  const { readGgufInfo } = await import('../models/gguf-reader.js');
  return estimateFromSizes(await readGgufInfo(modelPath), shape);
}

/** MODEL_TOO_LARGE for a model that cannot fit in the budget even alone, with its numbers. */
export function modelTooLargeError(modelPath: string, estimate: ModelMemoryEstimate, shape: ModelMemoryShape, budgetBytes: number): ServerError {
  return new ServerError(
    'MODEL_TOO_LARGE',
    `model ${basename(modelPath)} needs ~${formatGiB(estimate.totalBytes)} GiB (weights ${formatGiB(estimate.weightsBytes)} GiB + KV cache ` +
      `${formatGiB(estimate.kvCacheBytes)} GiB for ${shape.slots} slots × ${shape.contextSize} ctx) but the budget is ${formatGiB(budgetBytes)} GiB; ` +
      'use fewer slots (--slots), a smaller --ctx, a larger --memory-budget if the machine has the memory, or a smaller quantisation',
  );
}
