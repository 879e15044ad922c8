import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/reporting/format-duration.js';

describe('formatDuration', () => {
  it('is short at every scale, with zero-padded minor units', () => {
    expect([0, 950, 12_340, 59_949, 192_000, 3_605_000, 7_500_000].map(formatDuration)).toEqual(['0ms', '950ms', '12.3s', '59.9s', '3m 12s', '1h 00m', '2h 05m']);
  });

  it('shows ? for a duration it cannot know', () => {
    expect([Number.NaN, Number.POSITIVE_INFINITY, -1].map(formatDuration)).toEqual(['?', '?', '?']);
  });
});
