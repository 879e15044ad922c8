/** Everything an answer body needs, whichever wire format carries it. */
export interface AnswerParts {
  /** Response id, unique per server (derived from the prompt with `reproducibleAnswers`). */
  readonly id: string;
  /** `created` of OpenAI bodies, seconds since the epoch (0 with `reproducibleAnswers`). */
  readonly created: number;
  readonly model: string;
  /** `simAnswer(promptText)`. */
  readonly content: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** 'length' when `max_tokens` / `num_predict` cut the answer short. */
  readonly finishReason: 'stop' | 'length';
  /** The slot time spent on the prompt and on generation, in milliseconds. */
  readonly promptMs: number;
  readonly predictedMs: number;
  /** Model load time this request paid (Ollama `load_duration`), in milliseconds. */
  readonly loadMs: number;
}

/** Splits an answer into up to three pieces, so that clients must join streamed deltas. */
export function splitPieces(content: string): string[] {
  if (content.length < 3) return [content];
  const third = Math.ceil(content.length / 3);
  return [content.slice(0, third), content.slice(third, 2 * third), content.slice(2 * third)];
}
