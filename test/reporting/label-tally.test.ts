import { describe, expect, it } from 'vitest';
import { LabelTally } from '../../src/reporting/label-tally.js';

describe('LabelTally', () => {
  it('sums each series by its key, keeps the labels of its first event, and lists the series in the order first seen', () => {
    const tally = new LabelTally();
    let made = 0;
    const labels = (server: string) => () => {
      made++;
      return { server };
    };
    tally.add('b', labels('b'));
    tally.add('a', labels('a'), 5);
    tally.add('b', labels('b'));
    tally.add('b', labels('b'), -1);
    expect([...tally.entries()]).toEqual([
      { labels: { server: 'b' }, value: 1 },
      { labels: { server: 'a' }, value: 5 },
    ]);
    // The labels object is built once per series, not per event.
    expect(made).toBe(2);
  });
});
