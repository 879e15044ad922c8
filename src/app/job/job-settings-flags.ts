import { quoteForShell } from './resume-command.js';
import type { JobSettings } from '../settings/settings-table.js';
import { formatSettingValue } from '../settings/parse-setting.js';
import { settingRowsOf } from '../settings/settings-table.js';

/**
 * A job's remembered settings written back as the flags that give them, in the settings table's
 * order (`--server URL --workers 8`), quoted for a POSIX shell: what `batch status` shows as the
 * settings `batch resume` will use.
 */
export function jobSettingsFlags(settings: JobSettings): string[] {
  const flags: string[] = [];
  const values = settings as Readonly<Record<string, unknown>>;
  for (const row of settingRowsOf('run')) {
    if (!row.sources.includes('job')) continue;
    const value = values[row.key];
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const item of value) flags.push(`${row.flag} ${quoteForShell(String(item))}`);
    } else if (typeof value === 'boolean') {
      // `--no-x` rows default to true: only false is worth a flag; plain booleans show when true.
      const negated = row.flag.startsWith('--no-');
      if (value === negated) continue;
      flags.push(row.flag);
    } else {
      flags.push(`${row.flag} ${quoteForShell(formatSettingValue(row, value))}`);
    }
  }
  return flags;
}
