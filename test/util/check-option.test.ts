import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { checkInteger, checkNumber, checkStringArray, checkWholeNumber, optionError, parseWholeNumber } from '../../src/util/check-option.js';

function caught(run: () => unknown): UsageError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a UsageError, got none');
}

describe('option checks', () => {
  it('all throw UsageError (code USAGE, exit 2) worded "expected `name` to be …, got …"', () => {
    const error = caught(() => checkWholeNumber('workers', 0, 1));
    expect(error).toMatchObject({ code: 'USAGE', exitCode: 2, message: 'expected `workers` to be a whole number >= 1, got 0' });
    expect(optionError('mode', '"a" or "b"', 'c').message).toBe('expected `mode` to be "a" or "b", got "c"');
  });

  it('checkWholeNumber accepts safe integers in range and refuses fractions, strings, NaN and out-of-range values', () => {
    expect(checkWholeNumber('n', 0)).toBe(0);
    expect(checkWholeNumber('port', 65535, 0, 65535)).toBe(65535);
    expect(caught(() => checkWholeNumber('port', 65536, 0, 65535)).message).toBe('expected `port` to be a whole number from 0 to 65535, got 65536');
    expect(caught(() => checkWholeNumber('n', 1.5)).message).toBe('expected `n` to be a whole number >= 0, got 1.5');
    expect(caught(() => checkWholeNumber('n', '3')).message).toBe('expected `n` to be a whole number >= 0, got "3"');
    expect(caught(() => checkWholeNumber('n', undefined)).message).toBe('expected `n` to be a whole number >= 0, got nothing');
    caught(() => checkWholeNumber('n', Number.NaN));
    caught(() => checkWholeNumber('n', 2 ** 53));
  });

  it('checkInteger accepts negative integers only', () => {
    expect(checkInteger('seed', -7)).toBe(-7);
    expect(caught(() => checkInteger('seed', 0.5)).message).toBe('expected `seed` to be an integer, got 0.5');
  });

  it('checkNumber takes fractions, with an inclusive or exclusive bound', () => {
    expect(checkNumber('delayMs', 0)).toBe(0);
    expect(checkNumber('gib', 0.5, 0, true)).toBe(0.5);
    expect(caught(() => checkNumber('gib', 0, 0, true)).message).toBe('expected `gib` to be a number > 0, got 0');
    expect(caught(() => checkNumber('delayMs', -1)).message).toBe('expected `delayMs` to be a number >= 0, got -1');
    caught(() => checkNumber('delayMs', Number.POSITIVE_INFINITY));
  });

  it('checkStringArray names the first bad item', () => {
    expect(checkStringArray('inputs', ['a', 'b'])).toEqual(['a', 'b']);
    expect(caught(() => checkStringArray('inputs', ['a', ''])).message).toBe('expected `inputs` to be an array of non-empty strings, got ""');
    expect(caught(() => checkStringArray('inputs', 'a')).message).toBe('expected `inputs` to be an array of non-empty strings, got "a"');
  });

  it('parseWholeNumber reads digits only, so 1e3, 0x10, 2.0 and blanks are refused', () => {
    expect(parseWholeNumber('--port', ' 8080 ', 0, 65535)).toBe(8080);
    for (const text of ['1e3', '0x10', '2.0', '', ' ', '-1', 'many']) caught(() => parseWholeNumber('--port', text));
    expect(caught(() => parseWholeNumber('--slots', 'many', 1)).message).toBe('expected `--slots` to be a whole number >= 1, got "many"');
    expect(caught(() => parseWholeNumber('--slots', '0', 1)).message).toBe('expected `--slots` to be a whole number >= 1, got 0');
  });
});
