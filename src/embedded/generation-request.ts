import type { Token } from 'node-llama-cpp';

/** What the engine is asked to generate: a tokenized prompt and its sampling settings. */
export interface GenerationRequest {
  readonly tokens: readonly Token[];
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly seed?: number;
  readonly stop: readonly string[];
  /** Stops generation (client went away). */
  readonly signal: AbortSignal;
  /** Receives text as it becomes final (streaming). */
  readonly onText?: (text: string) => void;
  /** A JSON Schema the answer must follow: generation is constrained by a grammar made from it. */
  readonly jsonSchema?: Readonly<Record<string, unknown>>;
}

export interface GenerationTimings {
  readonly prompt_n: number;
  readonly prompt_ms: number;
  readonly prompt_per_second: number;
  readonly predicted_n: number;
  readonly predicted_ms: number;
  readonly predicted_per_second: number;
  readonly cache_n: number;
}

export interface GenerationResult {
  readonly text: string;
  readonly finishReason: 'stop' | 'length';
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly timings: GenerationTimings;
}
