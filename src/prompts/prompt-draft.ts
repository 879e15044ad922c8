import type { PromptEndpoint } from './prompt-item.js';
import type { RowData } from './row-data.js';

/**
 * What the per-format readers produce: a prompt record before `readPrompts` numbers it and checks
 * its custom_id against the others.
 */
export type PromptDraft =
  | {
      readonly ok: true;
      readonly customId: string;
      readonly source: string;
      readonly endpoint: PromptEndpoint;
      readonly body: Readonly<Record<string, unknown>>;
      /** The --data row the prompt was made from. */
      readonly rowData?: RowData;
      /** Set by the prompt itself (JSONL field, front matter, template column); absent: its input's default. */
      readonly priority?: number;
    }
  | {
      readonly ok: false;
      /** The id if it could be read, else `source`. */
      readonly customId: string;
      readonly source: string;
      /** Complete message, starting with the location: `file:line: expected …, got …`. */
      readonly message: string;
      /** The --data row, as far as it was read. */
      readonly rowData?: RowData;
    };

/** An invalid draft whose message is prefixed with `location`. */
export function invalidDraft(source: string, customId: string | undefined, location: string, detail: string): PromptDraft {
  return { ok: false, customId: customId ?? source, source, message: `${location}: ${detail}` };
}

/** Where a JSONL line came from. */
export interface JsonlLineContext {
  /** `file:line` (or `stdin:line`): the record's source and the prefix of its messages. */
  readonly source: string;
  /** custom_id when the line names none. */
  readonly fallbackId: string;
}
