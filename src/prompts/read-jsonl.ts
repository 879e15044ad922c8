import { decodeUtf8, describeInvalidUtf8 } from './decode-utf8.js';
import { parseJsonlLine } from './parse-jsonl-line.js';
import { invalidDraft, type PromptDraft } from './prompt-draft.js';
import { splitLines } from './split-lines.js';

/** Names used for the lines of one JSONL input. */
export interface ReadJsonlOptions {
  /** The input as the user sees it (`data/q.jsonl`, `stdin`): lines are `<location>:<line>`. */
  readonly location: string;
  /** Lines without an id get custom_id `<idPrefix>:<line>`. */
  readonly idPrefix: string;
}

/**
 * Reads JSONL in either format, one draft per non-blank line, lazily: the next chunk of the
 * stream is read only when the consumer asks for the next prompt. A bad line yields an invalid
 * draft and reading goes on.
 */
export async function* readJsonl(chunks: AsyncIterable<Uint8Array | string>, options: ReadJsonlOptions): AsyncGenerator<PromptDraft> {
  for await (const { lineNumber, bytes } of splitLines(chunks)) {
    const source = `${options.location}:${lineNumber}`;
    const decoded = decodeUtf8(bytes);
    if (!decoded.ok) {
      yield invalidDraft(source, undefined, source, describeInvalidUtf8(decoded.byte, decoded.offset + 1));
      continue;
    }
    if (decoded.text.trim() === '') continue;
    yield parseJsonlLine(decoded.text, { source, fallbackId: `${options.idPrefix}:${lineNumber}` });
  }
}
