import type { SavedAdvice } from '../../hardware/saved-advice.js';
import type { JobSettings } from './settings-table.js';
import { settingDefault, settingRowsOf, type Settings } from './settings-table.js';

/**
 * A run's settings after every source: the table's defaults are filled in, except `workers`, whose
 * default depends on the servers (their slots), known only once they are reached.
 */
export type RunSettings = Omit<Settings<'run'>, 'workers'> & { readonly workers?: number };

/** Resolved settings, and which ones saved advice supplied (as `--flag value`, for a notice). */
export interface ResolvedRunSettings {
  readonly settings: RunSettings;
  readonly fromAdvice: readonly string[];
}

/** Which kind of target a run has: `RunTarget` of app/routing/run-target.ts, a layer above. */
export interface TargetKind {
  readonly kind: string;
}

/** The advice rows that matter where prompts go: managed servers, or servers the user runs. */
const managedOnly = new Set(['maxModels', 'slots', 'contextSize']);

/**
 * Fills in a run's settings, for each row of the table in this order: the value given (flags now,
 * else the job's saved config), saved advice where the row takes advice, the table's default.
 * `target` is the run's target (app/routing/run-target.ts, resolved once from `given`): advice on
 * slots, context and models loaded is about managed servers only.
 */
export function resolveRunSettings(given: JobSettings, advice: SavedAdvice | undefined, target: TargetKind): ResolvedRunSettings {
  const settings: Record<string, unknown> = { ...given };
  const fromAdvice: string[] = [];
  const managed = target.kind === 'managed';
  for (const row of settingRowsOf('run')) {
    if (settings[row.key] !== undefined) continue;
    const advised = row.sources.includes('advice') && advice !== undefined ? (advice as unknown as Record<string, unknown>)[row.key] : undefined;
    if (advised !== undefined && (managed || !managedOnly.has(row.key))) {
      if (row.key === 'workers') {
        // Managed servers' slots, or servers that report theirs, set the workers before advice does (see workersFor).
        if (!managed) fromAdvice.push(`${row.flag} ${String(advised)} (unless the servers report slots)`);
        continue;
      }
      settings[row.key] = advised;
      fromAdvice.push(`${row.flag} ${String(advised)}`);
    } else if (row.default !== undefined && row.key !== 'workers') {
      settings[row.key] = row.default;
    }
  }
  return { settings: settings as RunSettings, fromAdvice };
}

/** The workers of a run: given, else the servers' slots (`capacity`), else saved advice, else the table's default. */
export function workersFor(settings: RunSettings, capacity: number | undefined, advice: SavedAdvice | undefined): number {
  return settings.workers ?? capacity ?? advice?.workers ?? settingDefault('run', 'workers');
}
