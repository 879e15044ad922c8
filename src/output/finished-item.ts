import type { PromptEndpoint } from '../prompts/prompt-item.js';
import type { RowData } from '../prompts/row-data.js';

/** A finished item, as the output writers need it. */
export interface FinishedItem {
  readonly customId: string;
  readonly index: number;
  readonly status: 'done' | 'failed';
  readonly endpoint: PromptEndpoint | null;
  /** `body.model` of the request. */
  readonly model: string | null;
  /** The model that answered, when the scheduler reported it. */
  readonly servedModel: string | null;
  readonly response: {
    readonly statusCode: number;
    readonly requestId: string;
    readonly body: Readonly<Record<string, unknown>>;
  } | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly promptTokens: number | null;
  readonly completionTokens: number | null;
  readonly latencyMs: number | null;
  readonly invalid: boolean;
  /** The primary item this one copied its result from. */
  readonly duplicateOf: string | null;
  readonly cached: boolean;
  /** The answer parsed as JSON, when the request asked for a JSON shape and got it. */
  readonly answer?: unknown;
  /** The prompt's own model when another answered it (`--fallback`). */
  readonly fallbackFrom?: string | null;
  /** The `--data` row the prompt was made from. */
  readonly rowData?: RowData;
}
