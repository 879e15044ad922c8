import { describe, expect, it } from 'vitest';
import { bearerTokenMatches } from '../../src/embedded/bearer-token.js';

describe('bearerTokenMatches', () => {
  it('takes the scheme in any case (RFC 7235), as clients send it', () => {
    for (const header of ['Bearer sesame', 'bearer sesame', 'BEARER sesame', 'bEaReR  sesame', ' Bearer sesame ']) expect(bearerTokenMatches(header, 'sesame'), header).toBe(true);
  });

  it('compares the token exactly and refuses other schemes', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Bearer Sesame', 'Bearer sesam', 'Bearer sesame2', 'Basic sesame', 'Bearersesame', 'sesame', 'Bearer sesame x']) {
      expect(bearerTokenMatches(header, 'sesame'), String(header)).toBe(false);
    }
  });
});
