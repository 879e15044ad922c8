import { UsageError } from '../errors.js';
import { describeValue } from './describe-value.js';

/**
 * The one error for a bad option, flag or argument: UsageError (exit 2), worded
 * "expected `name` to be <expected>, got <value>" (with `where` the value came from, when it was
 * not typed just now: "expected `--workers` (saved in x.sqlite) to be …"). Every option check in `batch` throws through
 * here, so a script sees the same code and shape whichever module rejected the value.
 */
export function optionError(name: string, expected: string, value: unknown, where?: string): UsageError {
  return new UsageError(`expected \`${name}\`${where === undefined ? '' : ` (${where})`} to be ${expected}, got ${describeValue(value)}`);
}

/** `value` as a whole number from `min` (to `max`, when given); a UsageError otherwise. */
export function checkWholeNumber(name: string, value: unknown, min = 0, max?: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    throw optionError(name, max === undefined ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`, value);
  }
  return value;
}

/** `value` as an integer of any sign (seeds, offsets); a UsageError otherwise. */
export function checkInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw optionError(name, 'an integer', value);
  return value;
}

/** `value` as a finite number >= `min` (> `min` when `exclusive`); a UsageError otherwise. */
export function checkNumber(name: string, value: unknown, min = 0, exclusive = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (exclusive && value === min)) {
    throw optionError(name, `a number ${exclusive ? '>' : '>='} ${min}`, value);
  }
  return value;
}

/**
 * A flag's text as a whole number from `min` (to `max`): digits only, so `1e3`, `0x10`, `2.0`
 * and ` ` are refused rather than read as numbers the user did not type.
 */
export function parseWholeNumber(name: string, text: string, min = 0, max?: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw optionError(name, max === undefined ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`, text);
  }
  return checkWholeNumber(name, value, min, max);
}

/** `value` as an array of non-empty strings (file paths, inputs, `--model` values); a UsageError otherwise. */
export function checkStringArray(name: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw optionError(name, 'an array of non-empty strings', Array.isArray(value) ? value.find((item) => typeof item !== 'string' || item === '') : value);
  }
  return value as readonly string[];
}
