import { describe, expect, it } from 'vitest';
import { formatGiB, GIB_BYTES } from '../../src/util/format-gib.js';

describe('formatGiB', () => {
  it('shows two decimals, and two significant digits below 0.01 GiB so a small model never reads as 0', () => {
    expect([0, GIB_BYTES, 1.5 * GIB_BYTES, 24 * GIB_BYTES + 1, 0.01 * GIB_BYTES, 5_000_000, 1024].map(formatGiB)).toEqual(['0.00', '1.00', '1.50', '24.00', '0.01', '0.0047', '9.5e-7']);
  });
});
