import type { PromptRecord } from '../prompts/prompt-item.js';

/** Shows unreadable prompts as they are read (the first 20; all are in the output and `export --failed`). */
export async function* reportInvalidPrompts(records: AsyncIterable<PromptRecord>, job: string, notice: ((line: string) => void) | undefined): AsyncIterable<PromptRecord> {
  let invalid = 0;
  for await (const record of records) {
    if (!record.ok) {
      invalid += 1;
      if (invalid <= 20) notice?.(`skipped: ${record.invalid.message}`);
    }
    yield record;
  }
  if (invalid > 20) notice?.(`skipped ${invalid - 20} more unreadable prompt(s); \`batch export ${job} --failed\` lists them all`);
}
