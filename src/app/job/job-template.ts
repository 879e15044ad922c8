import { realpathSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import type { TemplateInputs } from '../../prompts/read-prompts.js';
import { toPosixPath } from '../../prompts/posix-path.js';

/** A file of the template run: absolute, and as the user first typed it (sources and custom_ids use that). */
export interface JobTemplateFile {
  readonly path: string;
  readonly display: string;
}

/**
 * What a job remembers of `--template`, `--data`, `--id-column` and `--priority-column`, so that `batch resume` reads
 * the same rows under the same custom_ids from any folder.
 */
export interface JobTemplate {
  readonly template: JobTemplateFile;
  readonly data: readonly JobTemplateFile[];
  readonly idColumn?: string;
  /** `--priority-column`: the column of each row's priority. */
  readonly priorityColumn?: string;
}

/** The flags a template run is given with. */
export interface TemplateFlags {
  readonly template?: string;
  readonly data?: readonly string[];
  readonly idColumn?: string;
  readonly priorityColumn?: string;
}

/** The template run the flags ask for, or undefined; refuses half of one (exit 2). */
export function jobTemplateOf(flags: TemplateFlags, cwd: string): JobTemplate | undefined {
  const data = flags.data ?? [];
  if (flags.template === undefined) {
    if (data.length > 0) throw new UsageError('--data gives the rows of a template: pass --template prompt.md too');
    if (flags.idColumn !== undefined) throw new UsageError('--id-column names a column of --data rows: pass --template and --data too');
    if (flags.priorityColumn !== undefined) throw new UsageError('--priority-column names a column of --data rows: pass --template and --data too');
    return undefined;
  }
  if (data.length === 0) throw new UsageError(`--template ${flags.template} needs the rows to fill it with: pass --data rows.csv (or .tsv, .jsonl)`);
  if (flags.idColumn === '') throw new UsageError('--id-column: expected a column name, got an empty string');
  if (flags.priorityColumn === '') throw new UsageError('--priority-column: expected a column name, got an empty string');
  const file = (given: string): JobTemplateFile => ({ path: path.resolve(cwd, given), display: toPosixPath(path.normalize(given)) });
  const files = data.map(file);
  for (const [i, later] of files.entries()) {
    const earlier = files.slice(0, i).find((candidate) => candidate.path === later.path);
    if (earlier !== undefined) throw new UsageError(`--data ${later.display} is given twice (also as --data ${earlier.display}); its rows would be read twice: give each file once`);
  }
  return { template: file(flags.template), data: files, ...columnsOf(flags) };
}

/** What readPrompts takes; `priorities` (absolute path → `--priority`) gives --data files their default. */
export function templateInputsOf(template: JobTemplate, priorities?: ReadonlyMap<string, number>): TemplateInputs {
  const named = (file: JobTemplateFile) => {
    const priority = priorities?.get(file.path);
    return { filePath: file.path, display: file.display, ...(priority === undefined ? {} : { priority }) };
  };
  return { template: named(template.template), data: template.data.map(named), ...columnsOf(template) };
}

/** `idColumn` and `priorityColumn`, those that are set. */
function columnsOf(given: { readonly idColumn?: string; readonly priorityColumn?: string }): { readonly idColumn?: string; readonly priorityColumn?: string } {
  return { ...(given.idColumn === undefined ? {} : { idColumn: given.idColumn }), ...(given.priorityColumn === undefined ? {} : { priorityColumn: given.priorityColumn }) };
}

/** Whether two template runs read the same files (in the same order) under the same ids. */
export function sameTemplate(a: JobTemplate | undefined, b: JobTemplate | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.template.path === b.template.path && a.idColumn === b.idColumn && a.data.length === b.data.length && a.data.every((file, i) => file.path === b.data[i]!.path);
}

/** `--template a.md --data b.csv --id-column id`, for messages. */
export function describeTemplate(template: JobTemplate): string {
  return [`--template ${template.template.path}`, ...template.data.map((file) => `--data ${file.path}`), ...(template.idColumn === undefined ? [] : [`--id-column ${template.idColumn}`])].join(' ');
}

/** The paths a template run reads, for the job's name and fingerprint. */
export function templatePaths(template: JobTemplate): string[] {
  return [template.template.path, ...template.data.map((file) => file.path)];
}

/** Refuses an --out that would overwrite the template or a data file. */
export function checkOutputNotTemplate(out: string, template: JobTemplate | undefined, flag = '--out'): void {
  if (template === undefined) return;
  const real = (file: string): string => {
    try {
      return realpathSync(file);
    } catch {
      return path.resolve(file);
    }
  };
  const target = real(out);
  for (const [input, file] of [['--template', template.template] as const, ...template.data.map((file) => ['--data', file] as const)]) {
    if (real(file.path) === target) throw new UsageError(`${flag} ${out} is the ${input} file ${file.display}; writing there would destroy it: pass another ${flag}`);
  }
}

/** A saved template as read back from a job's config, or undefined when it holds none. */
export function parseJobTemplate(raw: unknown, where: string): JobTemplate | undefined {
  if (raw === undefined) return undefined;
  const isFile = (value: unknown): value is JobTemplateFile =>
    typeof value === 'object' && value !== null && typeof (value as JobTemplateFile).path === 'string' && typeof (value as JobTemplateFile).display === 'string';
  const value = raw as Partial<JobTemplate>;
  if (typeof raw !== 'object' || raw === null || !isFile(value.template) || !Array.isArray(value.data) || !value.data.every(isFile) || (value.idColumn !== undefined && typeof value.idColumn !== 'string') || (value.priorityColumn !== undefined && typeof value.priorityColumn !== 'string')) {
    throw new UsageError(`${where}: expected the job's saved template to name a template and its data files, got ${JSON.stringify(raw)}; start a new job with --job`);
  }
  return { template: value.template, data: value.data, ...columnsOf(value) };
}
