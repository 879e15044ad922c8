import { UsageError } from '../../errors.js';
import { optionError } from '../../util/check-option.js';
import { MAX_DURATION_MS } from '../settings/parse-setting.js';

/** The deadline flags of `batch run` / `batch resume`, as typed (never remembered by the job). */
export interface DeadlineFlags {
  /** `--until HH:MM`: the next such local time, today or tomorrow. */
  readonly until?: string;
  /** `--for DURATION`: `6h`, `90m`, `45s`, `1h30m`, from now. */
  readonly forDuration?: string;
}

const durationSyntax = 'a duration such as 6h, 90m, 45s or 1h30m (hours, minutes, seconds; > 0)';
const clockSyntax = 'a local time HH:MM (00:00 to 23:59), such as 07:00';

/**
 * `--for`'s text in milliseconds: one or more `<whole number><h|m|s>` parts, largest unit first,
 * each unit once. Throws a UsageError for anything else, for 0, and above Node's longest timer.
 */
export function parseDurationText(text: string, flag = '--for'): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim().toLowerCase());
  if (match === null || text.trim() === '') throw optionError(flag, durationSyntax, text);
  const [hours, minutes, seconds] = [match[1], match[2], match[3]].map((part) => Number(part ?? 0)) as [number, number, number];
  const ms = ((hours * 60 + minutes) * 60 + seconds) * 1000;
  if (ms <= 0) throw optionError(flag, durationSyntax, text);
  if (ms > MAX_DURATION_MS) throw optionError(flag, `at most ${Math.floor(MAX_DURATION_MS / 3_600_000)}h (24.8 days, the longest timer Node keeps)`, text);
  return ms;
}

/**
 * The next local wall-clock time `HH:MM` after `now`: today when it is still ahead, else tomorrow.
 * Built with local Date arithmetic (setDate/setHours), so a night across a DST change still ends at
 * 07:00 on the clock, not 24 hours of milliseconds after yesterday's 07:00.
 */
export function nextClockTime(text: string, now: Date, flag = '--until'): Date {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  const hours = Number(match?.[1]);
  const minutes = Number(match?.[2]);
  if (match === null || hours > 23 || minutes > 59) throw optionError(flag, clockSyntax, text);
  const at = new Date(now.getFullYear(), now.getMonth(), now.getDate(), hours, minutes, 0, 0);
  if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
  // A time the clock skips (the spring-forward hour) comes out an hour later: still the next one.
  return at;
}

/**
 * The run's deadline (epoch ms) from `--until` or `--for`, or undefined without either. Pure: `now`
 * is the caller's clock. Both flags at once are refused: they would disagree on when to stop.
 */
export function resolveDeadline(flags: DeadlineFlags, now: Date): number | undefined {
  if (flags.until !== undefined && flags.forDuration !== undefined) {
    throw new UsageError(`--until ${flags.until} and --for ${flags.forDuration} both set a deadline: give one of them`);
  }
  if (flags.forDuration !== undefined) return now.getTime() + parseDurationText(flags.forDuration);
  if (flags.until !== undefined) return nextClockTime(flags.until, now).getTime();
  return undefined;
}
