import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { CsvLayout, flatten } from '../../src/output/csv-layout.js';
import { csvColumns } from '../../src/output/csv-record.js';
import type { FinishedItem } from '../../src/output/finished-item.js';
import { finishedItem } from '../store/fixtures.js';

function item(customId: string, extra: Partial<FinishedItem> = {}): FinishedItem {
  return finishedItem({ customId, ...extra });
}

async function* each(items: FinishedItem[]): AsyncIterable<FinishedItem> {
  yield* items;
}

async function table(items: FinishedItem[]): Promise<string[][]> {
  const layout = await CsvLayout.of(each(items));
  return parse([layout.header(), ...items.map((i) => layout.record(i))].join('\r\n') + '\r\n') as string[][];
}

const row = (columns: string[], values: string[], line = 2) => ({ source: 'rows.csv', line, columns, values });

describe('flatten', () => {
  it('flattens nested fields with dots, arrays and empty objects as JSON text, null as an empty cell', () => {
    expect([...flatten({ a: 1, b: { c: 'x', d: { e: true } }, f: [1, { g: 2 }], h: null, i: {} })]).toEqual([
      ['a', '1'],
      ['b.c', 'x'],
      ['b.d.e', 'true'],
      ['f', '[1,{"g":2}]'],
      ['h', ''],
      ['i', '{}'],
    ]);
  });

  it('puts an answer that is no object into one `answer` column', () => {
    expect([...flatten(['a', 'b'])]).toEqual([['answer', '["a","b"]']]);
    expect([...flatten('yes')]).toEqual([['answer', 'yes']]);
  });
});

describe('CsvLayout', () => {
  it('without input rows or parsed answers writes batch columns alone, as before', async () => {
    const rows = await table([item('a')]);
    expect(rows[0]).toEqual([...csvColumns]);
  });

  it('orders input columns, then answer fields (first seen), then batch columns; a row or answer that lacks a column gets an empty cell', async () => {
    const rows = await table([
      item('a', { rowData: row(['id', 'title'], ['1', 'First']), answer: { label: 'x', score: { value: 2 } } }),
      item('b', { status: 'failed', response: null, error: { code: 'ANSWER_INVALID', message: 'bad' }, rowData: row(['id', 'title'], ['2', 'Second'], 3) }),
      item('c', { rowData: row(['id', 'title', 'extra'], ['3', 'Third', 'more'], 4), answer: { label: 'y', other: [1] } }),
    ]);
    expect(rows[0]).toEqual(['id', 'title', 'extra', 'label', 'score.value', 'other', ...csvColumns]);
    expect(rows[1]!.slice(0, 8)).toEqual(['1', 'First', '', 'x', '2', '', 'a', 'done']);
    expect(rows[2]!.slice(0, 8)).toEqual(['2', 'Second', '', '', '', '', 'b', 'failed']);
    expect(rows[2]![rows[0]!.indexOf('error_code')]).toBe('ANSWER_INVALID');
    expect(rows[3]!.slice(0, 8)).toEqual(['3', 'Third', 'more', 'y', '', '[1]', 'c', 'done']);
  });

  it("writes the user's cells back exactly (quotes, commas, CR/LF, a leading = or -) while answer cells keep the formula guard", async () => {
    const values = ['=SUM(A1:A2)', 'a "quoted", text', 'two\r\nlines\nand\rthree', '-5', ' padded ', '', 'é 😀'];
    const columns = ['f', 'q', 'nl', 'neg', 'pad', 'empty', 'uni'];
    const rows = await table([item('a', { rowData: row(columns, values), answer: { note: '=cmd|calc' } })]);
    expect(rows[0]!.slice(0, columns.length)).toEqual(columns);
    expect(rows[1]!.slice(0, values.length)).toEqual(values);
    expect(rows[1]![columns.length]).toBe("'=cmd|calc");
  });

  it('keeps input names as written; an answer field or batch column with the same name gets a prefix', async () => {
    const rows = await table([item('a', { rowData: row(['status', 'label'], ['open', 'L']), answer: { label: 'x', content: 'y', free: 'z' } })]);
    expect(rows[0]).toEqual(['status', 'label', 'answer.label', 'answer.content', 'free', 'custom_id', 'batch.status', ...csvColumns.slice(2)]);
    expect(rows[1]!.slice(0, 7)).toEqual(['open', 'L', 'x', 'y', 'z', 'a', 'done']);
  });

  it('keeps a header that repeats a name as two columns, each with its own cells', async () => {
    const rows = await table([item('a', { rowData: row(['x', 'x'], ['1', '2']) })]);
    expect(rows[0]!.slice(0, 3)).toEqual(['x', 'x', 'custom_id']);
    expect(rows[1]!.slice(0, 2)).toEqual(['1', '2']);
  });
});
