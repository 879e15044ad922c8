import type { PromptEndpoint } from '../backends/backend.js';
import type { RowData } from './row-data.js';

export type { PromptEndpoint };

/**
 * One prompt, normalised from any input format into an OpenAI-style request.
 * `body` is what an OpenAI-compatible server would receive (`model` may be absent: the run's
 * default model, or the server's only model, is used).
 */
export interface PromptItem {
  /** Unique within a job; the key of the output line. */
  readonly customId: string;
  /** 0-based position across all inputs of the run, in reading order. Output follows it. */
  readonly index: number;
  /** Where the prompt came from: `file:line` for JSONL, the file path for a prompt file. */
  readonly source: string;
  readonly endpoint: PromptEndpoint;
  /** OpenAI request body: `messages` (chat) or `prompt` (completions), plus sampling params. */
  readonly body: Readonly<Record<string, unknown>>;
  /** The --data row the prompt was made from (`batch run --template … --data …`). */
  readonly rowData?: RowData;
  /** Higher is sent first (within its model's turn, and models by their highest). @default 0 */
  readonly priority?: number;
}

/**
 * A prompt that could not be read. It is recorded as a failed item so that nothing is silently
 * dropped, and the other prompts still run.
 */
export interface InvalidPrompt {
  /** The custom_id if it could be read, else the source location. */
  readonly customId: string;
  readonly index: number;
  readonly source: string;
  /** `file:line: expected …, got …` */
  readonly message: string;
  /** The --data row, as far as it was read. */
  readonly rowData?: RowData;
}

/** What a reader yields: a usable prompt or a recorded failure. */
export type PromptRecord =
  | { readonly ok: true; readonly item: PromptItem }
  | { readonly ok: false; readonly invalid: InvalidPrompt };
