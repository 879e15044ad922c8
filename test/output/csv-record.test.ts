import { describe, expect, it } from 'vitest';
import { answeringModel, csvField, toCsvRecord } from '../../src/output/csv-record.js';
import type { FinishedItem } from '../../src/output/finished-item.js';
import { finishedItem } from '../store/fixtures.js';

function item(extra: Partial<FinishedItem> = {}): FinishedItem {
  return finishedItem({ response: { statusCode: 200, requestId: 'r', body: { model: 'qwen2.5-7b', choices: [{ message: { content: 'hi' } }] } }, ...extra });
}

describe('csvField', () => {
  it.each([
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+2', "'+1+2"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', "'\t=1"],
  ])('neutralises a cell a spreadsheet would run as a formula: %j', (value, cell) => {
    expect(csvField(value)).toBe(cell);
  });

  it('leaves other text and numbers as they are (negative numbers stay numbers)', () => {
    expect(csvField('a = b')).toBe('a = b');
    expect(csvField(-5)).toBe('-5');
    expect(csvField(null)).toBe('');
  });
});

describe('the model column', () => {
  it('names the model that answered when the request named none', () => {
    expect(answeringModel(item())).toBe('qwen2.5-7b');
    expect(toCsvRecord(item()).split(',')[2]).toBe('qwen2.5-7b');
  });

  it('prefers the model batch sent the request to, then the one the prompt named', () => {
    expect(answeringModel(item({ servedModel: 'tiny', model: 'other' }))).toBe('tiny');
    expect(answeringModel(item({ response: null, status: 'failed', model: 'asked' }))).toBe('asked');
    expect(answeringModel(item({ response: null, status: 'failed' }))).toBeNull();
  });
});
