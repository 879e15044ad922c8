import type { PromptEndpoint } from '../prompts/prompt-item.js';
import { readPrompts, requestModel } from '../prompts/read-prompts.js';

/** A model name the prompts use, and how many prompts use it. */
export interface PromptModelUse {
  /** `body.model`, or null for prompts that name none (the default model). */
  readonly name: string | null;
  readonly prompts: number;
}

/** What `batch optimize` needs from a prompt set, read in one pass (stdin can be read once). */
export interface PromptSurvey {
  /** Model names, most used first (ties by name). */
  readonly models: PromptModelUse[];
  /**
   * Up to `samples` request bodies of the most used model, on the endpoint of its first prompt:
   * `--measure` sends these, so the curve reflects the user's own prompt lengths.
   */
  readonly endpoint: PromptEndpoint | undefined;
  readonly bodies: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

export interface SurveyPromptsOptions {
  readonly cwd: string;
  readonly stdin?: NodeJS.ReadableStream;
  /** Most bodies kept per model for `--measure`. @default 16 */
  readonly samples?: number;
}

/**
 * The models the prompts of `inputs` ask for, and a few of their bodies. Unreadable prompts are
 * skipped: `batch run` reports them, optimize only needs names and sample requests.
 */
export async function surveyPrompts(inputs: readonly string[], options: SurveyPromptsOptions): Promise<PromptSurvey> {
  const samples = options.samples ?? 16;
  const counts = new Map<string | null, number>();
  // Bodies are kept per model while reading, as the most used model is known only at the end.
  const kept = new Map<string | null, { endpoint: PromptEndpoint; bodies: Array<Readonly<Record<string, unknown>>> }>();
  for await (const record of readPrompts(inputs, { cwd: options.cwd, stdin: options.stdin, checkDuplicates: false })) {
    if (!record.ok) continue;
    const name = requestModel(record.item) ?? null;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const entry = kept.get(name) ?? { endpoint: record.item.endpoint, bodies: [] };
    kept.set(name, entry);
    if (entry.bodies.length < samples && record.item.endpoint === entry.endpoint) entry.bodies.push(record.item.body);
  }
  const models = [...counts.entries()]
    .map(([name, prompts]) => ({ name, prompts }))
    .sort((a, b) => b.prompts - a.prompts || String(a.name).localeCompare(String(b.name), 'en'));
  const top = models[0] === undefined ? undefined : kept.get(models[0].name);
  return { models, endpoint: top?.endpoint, bodies: top?.bodies ?? [] };
}
