import { UsageError } from '../../errors.js';
import { parseJobTemplate, templatePaths, type JobTemplate } from './job-template.js';
import { checkSettingValue } from '../settings/parse-setting.js';
import { settingRowsOf, type JobSettings } from '../settings/settings-table.js';

/** The version of the saved config this `batch` writes. */
export const jobConfigVersion = 1;

/**
 * What a job remembers in its database (`jobs.config`) so that `batch resume` needs no flags: its
 * inputs and the settings given to its runs, never a secret (an API key's variable name only) and
 * never a default or saved advice (those apply afresh on each run).
 */
export interface JobConfig {
  readonly version: typeof jobConfigVersion;
  /** Absolute input paths, or `-` for stdin. */
  readonly inputs: readonly string[];
  readonly settings: JobSettings;
  /** `--template`, `--data`, `--id-column` of a template run. */
  readonly template?: JobTemplate;
}

const remembered = settingRowsOf('run').filter((row) => row.sources.includes('job'));

/** The part of `settings` a job remembers. */
export function jobConfigOf(inputs: readonly string[], settings: JobSettings, template?: JobTemplate): JobConfig {
  const kept: Record<string, unknown> = {};
  for (const row of remembered) {
    const value = (settings as Record<string, unknown>)[row.key];
    // '' is a value cleared now (`--llama-server-args ''`): not remembered, so the next resume has none.
    if (value !== undefined && value !== '') kept[row.key] = value;
  }
  return { version: jobConfigVersion, inputs: [...inputs], settings: kept as JobSettings, ...(template === undefined ? {} : { template }) };
}

/** A saved config as read back, with what had to be left out of it. */
export interface ParsedJobConfig {
  readonly config: JobConfig;
  /** One message per saved value that its row of the settings table refuses (it is ignored). */
  readonly ignored: readonly string[];
}

/**
 * Reads a job's saved config, checking every value against its row of the settings table.
 * Version 0 (before the config was versioned) kept the same keys at the top level. Keys the table
 * no longer has are dropped; a value its row refuses (one an older `batch` accepted) is ignored
 * and reported, so that the flag given now or the default applies instead of failing the resume.
 */
export function parseJobConfig(raw: Readonly<Record<string, unknown>>, where: string): ParsedJobConfig {
  const version = raw.version ?? 0;
  if (version !== 0 && version !== jobConfigVersion) {
    throw new UsageError(
      `${where}: the job's saved config has version ${JSON.stringify(version)}, and this batch reads versions 0 to ${jobConfigVersion}; it was written by a newer batch: update batch, or start a new job with --job`,
    );
  }
  const values = (version === 0 ? raw : raw.settings) as Record<string, unknown> | undefined;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new UsageError(`${where}: expected the job's saved config to hold an object "settings", got ${JSON.stringify(values)}; start a new job with --job`);
  }
  const inputs = raw.inputs ?? [];
  if (!Array.isArray(inputs) || !inputs.every((input) => typeof input === 'string' && input !== '')) {
    throw new UsageError(`${where}: expected the job's saved inputs to be a list of paths, got ${JSON.stringify(inputs)}; start a new job with --job`);
  }
  const settings: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const row of remembered) {
    const value = values[row.key];
    if (value === undefined) continue;
    try {
      settings[row.key] = checkSettingValue(row, value, `saved in ${where}`);
    } catch (error) {
      ignored.push(`${(error as Error).message}; ignoring it (pass ${row.flag} to set it)`);
    }
  }
  const template = parseJobTemplate(raw.template, where);
  return { config: { version: jobConfigVersion, inputs, settings: settings as JobSettings, ...(template === undefined ? {} : { template }) }, ignored };
}

/**
 * Every file a job reads its prompts from: its inputs, and the template and data files of a
 * template run. An output (`--out`, `--metrics`, `batch export --out`) must be none of them.
 */
export function jobInputFiles(config: JobConfig): string[] {
  return [...config.inputs, ...(config.template === undefined ? [] : templatePaths(config.template))];
}
