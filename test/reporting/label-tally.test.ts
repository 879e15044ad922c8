import { describe, expect, it } from 'vitest';
import { LabelTally } from '../../src/reporting/label-tally.js';

describe('LabelTally', () => {
  it('keeps each series it made, at the value its owner added up, in the order made', () => {
    const tally = new LabelTally();
    const b = tally.series({ server: 'b' });
    const a = tally.series({ server: 'a' });
    b.value += 1;
    a.value += 5;
    b.value += 1;
    b.value -= 1;
    expect(tally.entries()).toEqual([
      { labels: { server: 'b' }, value: 1 },
      { labels: { server: 'a' }, value: 5 },
    ]);
    // The series are the owner's: the tally hands out the object it exposes, not a copy.
    expect(tally.entries()[0]).toBe(b);
  });
});
