import { describe, expect, it } from 'vitest';
import { describeValue, isJsonObject } from '../../src/util/describe-value.js';

describe('describeValue', () => {
  it('shows scalars and names containers by kind', () => {
    expect([undefined, null, [], [1], {}, 0, -1.5, true, 'x', Number.NaN].map(describeValue)).toEqual(['nothing', 'null', 'an empty array', 'an array', 'an object', '0', '-1.5', 'true', '"x"', 'NaN']);
  });

  it('quotes strings so control characters stay visible, and shortens long ones', () => {
    expect(describeValue('a\nb')).toBe('"a\\nb"');
    expect(describeValue('y'.repeat(100))).toBe(JSON.stringify(`${'y'.repeat(40)}…`));
  });
});

describe('isJsonObject', () => {
  it('is true only for a plain object', () => {
    expect([{}, [], null, 'x'].map(isJsonObject)).toEqual([true, false, false, false]);
  });
});
