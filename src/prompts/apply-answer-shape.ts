import { readAnswerShape } from '../backends/answer-shape.js';
import type { PromptRecord } from './prompt-item.js';
import type { LoadedJsonSchema } from './load-json-schema.js';
import { mapRecords } from '../util/map-records.js';

/**
 * Gives every prompt without a `response_format` of its own the `--json-schema` one, and checks
 * the `response_format` each prompt has (its own, from front matter or from the flag): a prompt
 * whose schema is not valid JSON Schema fails alone, as an unreadable prompt, before anything is
 * sent. An explicit `{"type":"text"}` opts a prompt out.
 */
export function applyAnswerShape(records: AsyncIterable<PromptRecord>, schema: LoadedJsonSchema | undefined): AsyncIterable<PromptRecord> {
  return mapRecords(records, (record) => {
    if (!record.ok) return record;
    const { item } = record;
    if (item.body.response_format === undefined) {
      return schema === undefined ? record : { ok: true, item: { ...item, body: { ...item.body, response_format: schema.responseFormat } } };
    }
    const reading = readAnswerShape(item.body);
    return reading.ok
      ? record
      : { ok: false, invalid: { customId: item.customId, index: item.index, source: item.source, message: `${item.source}: ${reading.problem}` } };
  });
}
