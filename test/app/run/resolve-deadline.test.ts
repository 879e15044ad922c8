import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { nextClockTime, parseDurationText, resolveDeadline } from '../../../src/app/run/resolve-deadline.js';

/** A fixed local `now`: 5 Dec 2026 at hh:mm. */
const at = (hours: number, minutes: number, day = 5, month = 11): Date => new Date(2026, month, day, hours, minutes, 0, 0);

describe('--for DURATION', () => {
  it.each([
    ['6h', 6 * 3_600_000],
    ['90m', 90 * 60_000],
    ['45s', 45_000],
    ['1h30m', 90 * 60_000],
    ['1h0m30s', 3_630_000],
    ['2s', 2000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDurationText(text)).toBe(ms);
  });

  it.each(['-1h', '0', '0s', '0h0m', 'banana', '', '6', '1.5h', '30m1h', 'h', '6 h'])('%j is refused with a UsageError naming --for and the value', (text) => {
    expect(() => parseDurationText(text)).toThrow(UsageError);
    expect(() => parseDurationText(text)).toThrow(`expected \`--for\` to be a duration such as 6h, 90m, 45s or 1h30m`);
  });

  it('refuses a duration beyond the longest timer Node keeps (2^31 ms, 24.8 days)', () => {
    expect(parseDurationText('596h')).toBe(596 * 3_600_000);
    expect(() => parseDurationText('597h')).toThrow('expected `--for` to be at most 596h (24.8 days, the longest timer Node keeps), got "597h"');
  });
});

describe('--until HH:MM', () => {
  it('is today when the time is still ahead', () => {
    expect(nextClockTime('07:00', at(6, 59))).toEqual(at(7, 0));
    expect(nextClockTime('23:59', at(22, 0))).toEqual(at(23, 59));
  });

  it('rolls over to tomorrow when the time has passed (or is now), across a month and a year end', () => {
    expect(nextClockTime('07:00', at(22, 0))).toEqual(at(7, 0, 6));
    expect(nextClockTime('07:00', at(7, 0))).toEqual(at(7, 0, 6));
    expect(nextClockTime('7:30', at(23, 0, 31))).toEqual(new Date(2027, 0, 1, 7, 30));
    expect(nextClockTime('00:00', at(0, 1, 30, 10))).toEqual(at(0, 0, 1, 11));
  });

  it('is a wall-clock time, computed with local Date arithmetic, not 24 h of milliseconds (DST-agnostic)', () => {
    // Whatever the zone and its DST rules, the result shows 07:00 on the next day's local clock.
    // The nights before the 2026 changes in Europe (29 Mar, 25 Oct) and the US (8 Mar, 1 Nov).
    for (const [month, day] of [[2, 28], [9, 24], [2, 7], [9, 31], [11, 5]] as const) {
      const deadline = nextClockTime('07:00', new Date(2026, month, day, 22, 0));
      expect([deadline.getMonth(), deadline.getDate(), deadline.getHours(), deadline.getMinutes()]).toEqual([month === 9 && day === 31 ? 10 : month, month === 9 && day === 31 ? 1 : day + 1, 7, 0]);
    }
  });

  it.each(['25:00', '24:00', '07:60', '7', '0700', '07:00pm', 'noon', '', '-1:00'])('%j is refused with a UsageError naming --until and the value', (text) => {
    expect(() => nextClockTime(text, at(22, 0))).toThrow(UsageError);
    expect(() => nextClockTime(text, at(22, 0))).toThrow('expected `--until` to be a local time HH:MM (00:00 to 23:59), such as 07:00');
  });
});

describe('resolveDeadline', () => {
  it('is undefined without a flag, now + --for, or the next --until', () => {
    const now = at(22, 0);
    expect(resolveDeadline({}, now)).toBeUndefined();
    expect(resolveDeadline({ forDuration: '1h30m' }, now)).toBe(at(23, 30).getTime());
    expect(resolveDeadline({ until: '07:00' }, now)).toBe(at(7, 0, 6).getTime());
  });

  it('refuses both flags at once', () => {
    expect(() => resolveDeadline({ until: '07:00', forDuration: '6h' }, at(22, 0))).toThrow(new UsageError('--until 07:00 and --for 6h both set a deadline: give one of them'));
  });
});
