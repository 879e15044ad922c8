import { describe, expect, it } from 'vitest';
import { leastLoaded } from '../../../src/app/routing/least-loaded.js';

describe('leastLoaded: routing by capacity', () => {
  it('fills servers in proportion to their share, the larger first on a tie', () => {
    const fleet = [
      { url: 'a', inFlight: 0, share: 2 },
      { url: 'b', inFlight: 0, share: 4 },
      { url: 'c', inFlight: 0, share: 8 },
    ];
    const sent: string[] = [];
    for (let i = 0; i < 14; i++) {
      const chosen = leastLoaded(fleet)!;
      (chosen as { inFlight: number }).inFlight += 1;
      sent.push(chosen.url);
    }
    expect(sent[0]).toBe('c');
    expect(fleet.map((e) => e.inFlight)).toEqual([2, 4, 8]);
  });

  it('chooses the server to avoid only when it is the only one', () => {
    const a = { url: 'a', inFlight: 0, share: 8 };
    const b = { url: 'b', inFlight: 5, share: 1 };
    expect(leastLoaded([a, b], 'a')).toBe(b);
    expect(leastLoaded([a], 'a')).toBe(a);
    expect(leastLoaded([])).toBeUndefined();
  });
});
