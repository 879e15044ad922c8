import { optionError, parseWholeNumber } from '../../util/check-option.js';
import { GIB_BYTES } from '../../util/format-gib.js';
import { keepAliveSyntax, parseOllamaKeepAlive } from '../../backends/ollama-keep-alive.js';
import type { SettingRow } from './settings-table.js';

/**
 * The longest duration a setting accepts, in milliseconds: Node's timers hold a signed 32-bit
 * delay, and a longer one is cut to 1 ms (a TimeoutOverflowWarning), so `--timeout 2200000`
 * would time every request out at once. About 24.8 days.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** The refusal of a duration above MAX_DURATION_MS, with the fix for this row. */
function refuseLongDuration(row: SettingRow, value: unknown, where: string | undefined): never {
  const noLimit = row.zero === 'unlimited' ? '; for no limit give 0' : '';
  throw optionError(row.flag, `at most ${Math.floor(MAX_DURATION_MS / 1000)} seconds (24.8 days, the longest timer Node keeps)${noLimit}`, value, where);
}

/** What a row accepts, for "expected …" messages. */
export function describeSettingType(row: SettingRow): string {
  switch (row.type) {
    case 'count':
      return `a whole number >= ${row.min ?? 0}`;
    case 'seconds':
      if (row.min !== undefined) return `a number of seconds >= ${row.min / 1000}`;
      return row.zero === 'unlimited' ? 'a number of seconds >= 0 (0 = no limit)' : 'a number of seconds > 0';
    case 'gib':
      return 'a number of GiB > 0';
    case 'choice':
      return `one of ${(row.choices ?? []).join(', ')}`;
    case 'list':
      return 'a list of non-empty strings';
    case 'boolean':
      return 'true or false';
    case 'string':
      return row.empty === 'clears' ? "a string ('' clears it)" : 'a non-empty string';
    case 'keep-alive':
      return keepAliveSyntax;
  }
}

function refuse(row: SettingRow, value: unknown, where: string | undefined): never {
  throw optionError(row.flag, describeSettingType(row), value, where);
}

/**
 * Parses the text of one flag (one occurrence, for a list) into the row's value, in the unit the
 * settings hold (milliseconds, bytes). Throws a UsageError naming the flag and the text.
 */
export function parseSettingText(row: SettingRow, text: string): string | number | boolean {
  const trimmed = text.trim();
  switch (row.type) {
    case 'count':
      return parseWholeNumber(row.flag, text, row.min ?? 0);
    case 'seconds': {
      const n = Number(trimmed);
      if (trimmed === '' || !Number.isFinite(n) || n < 0 || (n === 0 && row.zero !== 'unlimited') || n * 1000 < (row.min ?? 0)) refuse(row, text, undefined);
      const ms = Math.round(n * 1000);
      if (ms > MAX_DURATION_MS) refuseLongDuration(row, text, undefined);
      // 0.0001 s would round to 0 ms, which means "no limit" or is refused: keep the smallest real limit.
      return n > 0 ? Math.max(1, ms) : 0;
    }
    case 'gib': {
      const n = Number(trimmed);
      if (trimmed === '' || !Number.isFinite(n) || n <= 0) refuse(row, text, undefined);
      return Math.round(n * GIB_BYTES);
    }
    case 'choice':
      if (!(row.choices ?? []).includes(text)) refuse(row, text, undefined);
      return text;
    case 'boolean':
      return text === 'true';
    case 'keep-alive':
      if (parseOllamaKeepAlive(text) === undefined) refuse(row, text, undefined);
      return trimmed;
    case 'list':
    case 'string':
      // An empty value clears what the job remembers, where the row says so (`--llama-server-args ''`).
      if (trimmed === '' && row.type === 'string' && row.empty === 'clears') return '';
      if (trimmed === '') refuse(row, text, undefined);
      return text;
  }
}

/**
 * Checks a value that did not come from a flag's text (the job's saved config, a library caller)
 * against its row. Returns it unchanged; throws a UsageError naming the flag and `where`.
 */
export function checkSettingValue(row: SettingRow, value: unknown, where: string): unknown {
  switch (row.type) {
    case 'count':
      if (!(Number.isSafeInteger(value) && (value as number) >= (row.min ?? 0))) refuse(row, value, where);
      return value;
    case 'seconds':
      if (!(Number.isSafeInteger(value) && (value as number) >= (row.min ?? (row.zero === 'unlimited' ? 0 : 1)))) refuse(row, value, where);
      if ((value as number) > MAX_DURATION_MS) refuseLongDuration(row, value, where);
      return value;
    case 'gib':
      if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) refuse(row, value, where);
      return value;
    case 'choice':
      if (!(row.choices ?? []).includes(value as string)) refuse(row, value, where);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') refuse(row, value, where);
      return value;
    case 'list':
      if (!(Array.isArray(value) && value.every((item) => typeof item === 'string' && item !== ''))) refuse(row, value, where);
      return value;
    case 'string':
      if (!(typeof value === 'string' && value !== '')) refuse(row, value, where);
      return value;
    case 'keep-alive':
      if (!(typeof value === 'string' && parseOllamaKeepAlive(value) !== undefined)) refuse(row, value, where);
      return value;
  }
}

/** A value as the flag's text would give it: milliseconds back to seconds, bytes back to GiB. */
export function formatSettingValue(row: SettingRow, value: unknown): string {
  if (row.type === 'seconds' && typeof value === 'number') return String(value / 1000);
  if (row.type === 'gib' && typeof value === 'number') return String(Number((value / GIB_BYTES).toFixed(3)));
  return String(value);
}

/** A row's default as a person reads it: seconds, GiB, or the text of a dynamic default. */
export function describeSettingDefault(row: SettingRow): string | undefined {
  if (row.defaultText !== undefined) return row.defaultText;
  if (row.default === undefined || row.type === 'boolean') return undefined;
  return formatSettingValue(row, row.default);
}
