import path from 'node:path';
import { createHash } from 'node:crypto';
import { AppError } from '../../errors.js';
import { batchHome, jobOutputPath } from '../../store/job-paths.js';
import type { JobRecord } from '../../store/store-records.js';
import { parseInputShard, type InputShard } from '../../prompts/input-shard.js';
import { loadJsonSchemaFile, type LoadedJsonSchema } from '../../prompts/load-json-schema.js';
import { jobConfigOf, parseJobConfig, type JobConfig } from '../job/job-config.js';
import { checkOutputNotTemplate, describeTemplate, jobTemplateOf, sameTemplate, templatePaths, type JobTemplate } from '../job/job-template.js';
import { checkOutputPath } from '../job/check-output-path.js';
import { checkMetricsPath } from '../job/check-metrics-path.js';
import { parseMetricsAddress } from '../../reporting/metrics-endpoint.js';
import { filePriorityMap } from '../job/file-priorities.js';
import { absoluteSettings, locateJob, type LocatedJob } from '../job/locate-job.js';
import { settingRow, type JobSettings } from '../settings/settings-table.js';
import { findLiveDaemon } from '../../daemon/daemon-record.js';
import { resolveRunTarget, type FoundDaemon, type RunTarget } from '../routing/run-target.js';
import { checkRunFallbacks } from '../routing/open-router.js';
import type { RunJobContext, RunJobOptions } from './run-job-options.js';

/** Where a run's job lives, found before its database is opened. */
export interface RunLocation {
  /** The batch home (`BATCH_HOME`, else ./checkpoints). */
  readonly home: string;
  readonly located: LocatedJob;
  /** `--shard` given now. */
  readonly shard?: InputShard;
  /** `--template`/`--data` given now (never on resume). */
  readonly templateGiven?: JobTemplate;
}

/**
 * The first phase of a run, before anything is created: the job's name and database (checked
 * before anything else: a shard is a job of its own, named after it).
 */
export function locateRun(options: RunJobOptions, context: Pick<RunJobContext, 'cwd' | 'env' | 'notice'>): RunLocation {
  const home = batchHome(context.env, context.cwd);
  const templateGiven = options.resume ? undefined : jobTemplateOf(options, context.cwd);
  const shard = options.shard === undefined ? undefined : parseInputShard(options.shard);
  // A template run is named after its template and data, as other runs are after their inputs.
  const named = templateGiven === undefined || options.inputs.length > 0 ? options : { ...options, inputs: templatePaths(templateGiven) };
  const located = locateJob({ ...named, shard }, home, context.cwd);
  for (const line of located.skipped ?? []) context.notice?.(line);
  return { home, located, shard, templateGiven };
}

/** What a run does, decided once before its job is touched; nothing in it changes afterwards. */
export interface RunPlan {
  readonly job: string;
  /** Absolute path of the job database. */
  readonly db: string;
  /** Settings given now over the ones the job remembers: what it remembers next. Defaults not filled in. */
  readonly given: JobSettings;
  /** Where prompts go, resolved once from `given`. */
  readonly target: RunTarget;
  /** Absolute input paths, or `-` (stdin): given now, or remembered on resume. */
  readonly inputs: readonly string[];
  readonly template?: JobTemplate;
  /** The shard of the inputs this job holds. */
  readonly share?: InputShard;
  /** The output file, as given (relative to the cwd) or the job's default. */
  readonly out: string;
  /** Whether the inputs are read (again): a new run, or a resume that retries failures or reads the rest. */
  readonly reread: boolean;
  readonly jsonSchema?: LoadedJsonSchema;
  /** `--priority FILE=N`: the default priority of each input and --data file named, by absolute path. */
  readonly filePriorities: ReadonlyMap<string, number>;
  /** What the job remembers of this run. */
  readonly config: JobConfig;
  /** Identifies the inputs the job was opened with. */
  readonly fingerprint: string;
}

/**
 * The plan of a run: the job's saved config merged with the settings given now, its inputs (a run
 * naming other inputs than the job read is refused unless `--replace-inputs`), its target, and its
 * output (checked writable, and harmless to the prompts and the job, before anything is sent).
 */
export async function planRun(existing: JobRecord | undefined, location: RunLocation, options: RunJobOptions, context: RunJobContext): Promise<RunPlan> {
  const { located, home } = location;
  if (options.resume && existing === undefined) {
    throw new AppError('JOB_NOT_FOUND', `no job "${located.job}" in ${located.db}; \`batch jobs\` lists them`);
  }
  const saved = existing === undefined ? undefined : parseJobConfig(existing.config, located.db);
  for (const line of saved?.ignored ?? []) context.notice?.(line);
  // Settings given now win over the ones the job remembers; the merge is what it remembers next.
  const given: JobSettings = { ...saved?.config.settings, ...definedOf(absoluteSettings(options, context.cwd)) };
  const inputs = options.resume ? (saved?.config.inputs ?? []) : options.inputs.map((input) => absoluteInput(input, context.cwd));
  const template = options.resume ? saved?.config.template : location.templateGiven;
  if (!options.resume && options.replaceInputs !== true) refuseChangedInputs(located, saved?.config, inputs, template);
  // Checked before the job is touched: a --priority naming no input is a typo, not a default.
  const filePriorities = filePriorityMap(given.priorities, inputs, template);
  const reread = readsInputs(located.job, existing, options, inputs, context);
  const share = location.shard ?? (given.shard === undefined ? undefined : parseInputShard(given.shard, `saved in ${located.db}`));
  const out = given.out ?? jobOutputPath(home, located.job);
  await checkOutputs(out, given, located.db, inputs, template, reread, context.cwd);
  // Checked before the job is touched: a schema that cannot work must not cost a night.
  const jsonSchema = reread && given.jsonSchema !== undefined ? loadJsonSchemaFile(given.jsonSchema) : undefined;
  const target = resolveRunTarget(given, given.daemon === false ? undefined : runningDaemon(home));
  if (target.kind === 'daemon') noticeDaemonSettings(given, context.notice);
  checkRunFallbacks(target, given.fallbacks ?? [], context.cwd);
  return Object.freeze({
    job: located.job,
    db: located.db,
    given,
    target,
    inputs,
    template,
    share,
    out,
    reread,
    jsonSchema,
    filePriorities,
    config: jobConfigOf(inputs, given, template),
    fingerprint: fingerprint([...inputs, ...(template === undefined ? [] : templatePaths(template))]),
  });
}

/** The daemon of the batch home (`batch up`), when one runs. */
function runningDaemon(home: string): FoundDaemon | undefined {
  const record = findLiveDaemon(home);
  return record === undefined ? undefined : { url: record.url, pid: record.pid, home };
}

/** The settings of a run's own servers, which a daemon's servers do not take: said once, not refused. */
const serverSettings = ['slots', 'contextSize', 'maxModels', 'engine', 'llamaServer', 'llamaServerArgs', 'gpuLayers', 'threads', 'memoryBudgetBytes', 'startupTimeoutMs'] as const;

function noticeDaemonSettings(given: JobSettings, notice: ((line: string) => void) | undefined): void {
  const set = serverSettings.filter((key) => given[key] !== undefined).map((key) => settingRow('run', key).flag);
  if (set.length > 0) notice?.(`${set.join(', ')}: the daemon's servers run with \`batch up\`'s settings; these apply to servers a run starts itself (--no-daemon)`);
}

/** A job saved before its inputs were remembered has none to compare with: it adopts these. */
function refuseChangedInputs(located: LocatedJob, saved: JobConfig | undefined, inputs: readonly string[], template: JobTemplate | undefined): void {
  const savedInputs = saved?.inputs ?? [];
  const remembers = savedInputs.length > 0 || saved?.template !== undefined;
  if (!remembers || (sameInputs(savedInputs, inputs) && sameTemplate(saved?.template, template))) return;
  const describe = (list: readonly string[], t: JobTemplate | undefined): string => [...list, ...(t === undefined ? [] : [describeTemplate(t)])].join(', ');
  throw new AppError(
    'JOB_INPUTS_CHANGED',
    `job "${located.job}" (${located.db}) read ${describe(savedInputs, saved?.template)}; this run names ${describe(inputs, template)}. Pass --replace-inputs to make these its inputs (prompts not in them leave the job's output), or another --job to start a new job`,
  );
}

/**
 * Re-read on resume only to retry failed prompts (a line fixed since then replaces its failure),
 * or to read the rest of inputs an earlier run stopped reading; standard input cannot be read again.
 */
function readsInputs(job: string, existing: JobRecord | undefined, options: RunJobOptions, inputs: readonly string[], context: RunJobContext): boolean {
  const partial = existing?.inputsRead === false;
  const stdin = inputs.includes('-');
  if (options.resume && partial && stdin) {
    context.notice?.(`job "${job}" stopped reading standard input before its end: it holds the prompts read until then`);
  }
  if (options.resume && options.retryFailed === true && stdin) {
    context.notice?.(`job "${job}" read its prompts from standard input, which cannot be read again: unreadable lines stay failed; run the fixed lines with \`batch run - --job ${job}\``);
  }
  return !options.resume || ((options.retryFailed === true || partial) && !stdin);
}

/**
 * Before anything is sent: finding out at the end that the output cannot be written, or that
 * writing it destroys the prompts or the job, loses the night.
 */
async function checkOutputs(out: string, given: JobSettings, db: string, inputs: readonly string[], template: JobTemplate | undefined, reread: boolean, cwd: string): Promise<void> {
  await checkOutputPath({ out, db, inputs, cwd, inputsMustExist: reread });
  checkOutputNotTemplate(out, template);
  // A typo in --metrics-listen must not cost the minutes of a model load before it is found.
  if (given.metricsListen !== undefined) parseMetricsAddress(given.metricsListen);
  if (given.metrics !== undefined) {
    await checkMetricsPath({ metrics: given.metrics, out, db, inputs, cwd, inputsMustExist: reread });
    checkOutputNotTemplate(given.metrics, template, '--metrics');
  }
}

/** Whether two input lists name the same inputs, in any order. */
function sameInputs(a: readonly string[], b: readonly string[]): boolean {
  const left = [...new Set(a)].sort();
  const right = [...new Set(b)].sort();
  return left.length === right.length && left.every((input, i) => input === right[i]);
}

function definedOf<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function absoluteInput(input: string, cwd: string): string {
  return input === '-' ? input : path.resolve(cwd, input);
}

function fingerprint(inputs: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify([...inputs].sort())).digest('hex').slice(0, 16);
}
