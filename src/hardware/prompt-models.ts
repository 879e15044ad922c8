import { readPrompts, requestModel } from '../prompts/read-prompts.js';

/** A model name the prompts use, and how many prompts use it. */
export interface PromptModelUse {
  /** `body.model`, or null for prompts that name none (the default model). */
  readonly name: string | null;
  readonly prompts: number;
}

/**
 * The models the prompts of `inputs` ask for, most used first (ties by name). Unreadable prompts
 * are skipped: `batch run` reports them, optimize only needs the model names.
 */
export async function collectPromptModels(inputs: readonly string[], options: { readonly cwd: string; readonly stdin?: NodeJS.ReadableStream }): Promise<PromptModelUse[]> {
  const counts = new Map<string | null, number>();
  for await (const record of readPrompts(inputs, { cwd: options.cwd, stdin: options.stdin, checkDuplicates: false })) {
    if (!record.ok) continue;
    const name = requestModel(record.item) ?? null;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts.entries()]
    .map(([name, prompts]) => ({ name, prompts }))
    .sort((a, b) => b.prompts - a.prompts || String(a.name).localeCompare(String(b.name), 'en'));
}
