import { estimateModelMemory } from '../models/estimate-model-memory.js';
import type { ModelProfile } from './model-profile.js';
import type { MemoryPool } from './optimization-plan.js';

/** Where a model goes, before slots are decided. */
export interface Placement {
  readonly profile: ModelProfile;
  readonly poolIndex: number;
  /** Weights and one slot's KV cache fit in the pool (else: partial offload on a GPU, or too big). */
  readonly fits: boolean;
  /** Fits beside the models placed before it; false means it is loaded in turn. */
  readonly coResident: boolean;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the largest value, the lowest index on ties (so plans are deterministic). */
function argmax(values: readonly number[], eligible: (index: number) => boolean = () => true): number | undefined {
  let best: number | undefined;
  values.forEach((value, index) => {
    if (eligible(index) && (best === undefined || value > values[best]!)) best = index;
  });
  return best;
}

/**
 * Places models, biggest first, each in the pool with the most memory left, so several models
 * spread over several GPUs. Each placed model reserves its weights plus one slot's KV cache. A
 * model that fits only in an empty pool is placed there to be loaded in turn (not co-resident);
 * one that fits nowhere goes to the emptiest pool (partial offload on a GPU).
 */
export function placeModels(models: readonly ModelProfile[], pools: readonly MemoryPool[], contextSize: number): Placement[] {
  const sorted = [...models].sort((a, b) => b.fileBytes - a.fileBytes || compareIds(a.id, b.id));
  const usable = pools.map((pool) => pool.usableBytes);
  const remaining = [...usable];
  const placements: Placement[] = [];
  for (const profile of sorted) {
    const minimumBytes = estimateModelMemory(profile, { slots: 1, contextSize }).totalBytes;
    const roomiest = argmax(remaining)!;
    if (minimumBytes <= remaining[roomiest]!) {
      remaining[roomiest] = remaining[roomiest]! - minimumBytes;
      placements.push({ profile, poolIndex: roomiest, fits: true, coResident: true });
      continue;
    }
    const alone = argmax(usable, (index) => usable[index]! >= minimumBytes);
    if (alone !== undefined) {
      placements.push({ profile, poolIndex: alone, fits: true, coResident: false });
      continue;
    }
    const empty = remaining[roomiest] === usable[roomiest];
    const poolIndex = empty ? roomiest : argmax(usable)!;
    if (empty) remaining[roomiest] = 0;
    placements.push({ profile, poolIndex, fits: false, coResident: empty });
  }
  return placements;
}
