import { UsageError } from '../errors.js';

/** Parses a whole number flag value, with the flag name in the message. */
export function parseWholeNumber(flag: string, min: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new UsageError(`expected ${flag} to be a whole number >= ${min}, got "${value}"`);
    }
    return n;
  };
}

/** Parses a duration in seconds (decimals allowed) into milliseconds. */
export function parseSeconds(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
      throw new UsageError(`expected ${flag} to be a number of seconds >= 0, got "${value}"`);
    }
    return Math.round(n * 1000);
  };
}

/** Collects a repeatable flag into an array. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}
