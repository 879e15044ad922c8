/**
 * A token count a server reported, or undefined when it is no count at all: a negative number, a
 * fraction, NaN, a string or a number beyond 2^53 (a server that lies about `usage` once turned
 * the summary's tokens per second into Infinity).
 */
export function tokenCount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
