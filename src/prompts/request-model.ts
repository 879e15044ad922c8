import type { PromptItem } from './prompt-item.js';

/** The model a prompt asks for (`body.model`), or undefined when the run's default model applies. */
export function requestModel(item: PromptItem): string | undefined {
  const model = item.body.model;
  return typeof model === 'string' && model !== '' ? model : undefined;
}
