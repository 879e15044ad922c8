/**
 * Below this reported model load time an answer counts as a warm start: Ollama reports a few ms
 * of bookkeeping even when the model was resident.
 */
export const warmStartBelowMs = 50;

/** Whether an answer that reported `modelLoadMs` found its model already loaded. */
export function isWarmStart(modelLoadMs: number): boolean {
  return modelLoadMs < warmStartBelowMs;
}
