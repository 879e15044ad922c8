import { mapRecords } from '../../util/map-records.js';
import type { PromptRecord } from '../../prompts/prompt-item.js';

/** What was unreadable among the records passed on. */
export interface InvalidTally {
  /** The message of the first unreadable prompt. */
  first?: string;
}

/**
 * Shows unreadable prompts as they are read (the first 20; all are in the output and `export
 * --failed`), and keeps the first message in `tally`.
 */
export function reportInvalidPrompts(records: AsyncIterable<PromptRecord>, job: string, notice: ((line: string) => void) | undefined, tally: InvalidTally = {}): AsyncIterable<PromptRecord> {
  let invalid = 0;
  return mapRecords(
    records,
    (record) => {
      if (!record.ok) {
        tally.first ??= record.invalid.message;
        invalid += 1;
        if (invalid <= 20) notice?.(`skipped: ${record.invalid.message}`);
      }
      return record;
    },
    () => {
      if (invalid > 20) notice?.(`skipped ${invalid - 20} more unreadable prompt(s); \`batch export ${job} --failed\` lists them all`);
    },
  );
}
