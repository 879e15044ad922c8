/** Bytes in one GiB. */
export const GIB_BYTES = 2 ** 30;

/**
 * Bytes as GiB for messages, without the unit: two decimals, or two significant digits below
 * 0.01 GiB so a small model never reads as 0.
 */
export function formatGiB(bytes: number): string {
  const gib = bytes / GIB_BYTES;
  return gib === 0 || gib >= 0.01 ? gib.toFixed(2) : gib.toPrecision(2);
}
