import path from 'node:path';
import { AppError, ExitCode } from '../../errors.js';
import { findAdviceFor } from '../../hardware/saved-advice.js';
import { machineIdentity } from '../../hardware/machine-identity.js';
import type { PromptItem, PromptRecord } from '../../prompts/prompt-item.js';
import { requestModel } from '../../prompts/read-prompts.js';
import type { DryRunModel, DryRunPromptRef, DryRunReport } from '../../reporting/dry-run-report.js';
import type { PromptTokenCounter } from '../../embedded/prompt-token-counter.js';
import { batchHome } from '../../store/job-paths.js';
import { jobTemplateOf } from '../job/job-template.js';
import { readJobPrompts } from '../job/read-job-prompts.js';
import { parseInputShard } from '../../prompts/input-shard.js';
import { loadJsonSchemaFile } from '../../prompts/load-json-schema.js';
import { resolveRunSettings } from '../settings/resolve-run-settings.js';
import { parseServersFile } from '../routing/parse-servers-file.js';
import { resolveRunTarget, type FleetTarget, type ManagedTarget } from '../routing/run-target.js';
import type { RunJobOptions } from './run-job.js';

export interface DryRunContext {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadableStream;
  readonly notice?: (line: string) => void;
  /** Keep every prompt's count in the report (`--json`). @default false */
  readonly perPrompt?: boolean;
}

/** How many prompts each list of the report names. */
const LISTED = 20;
/** The estimate where no tokenizer is at hand: about 4 characters a token, and a few per message for the template. */
const CHARS_PER_TOKEN = 4;
const TOKENS_PER_MESSAGE = 4;

interface ModelTally {
  model: string;
  file?: string;
  problem?: string;
  counter?: PromptTokenCounter;
  contextSize?: number;
  completionTokensPerSecond?: number;
  prompts: number;
  promptTokens: number;
  exactTokens: boolean;
  maxTokens: number;
  withoutMaxTokens: number;
  tooLong: DryRunModel['tooLong'][number][];
  tooLongCount: number;
  refused: (DryRunPromptRef & { readonly message: string })[];
  refusedCount: number;
}

/**
 * `batch run --dry-run`: reads the inputs as a run would and reports, per model, the prompts, their
 * tokens (with the model's own tokenizer and chat template where a GGUF is given: the embedded
 * server's `prompt_tokens`; estimated otherwise), the max_tokens asked for, how long generation
 * should take at the throughput `batch optimize --measure` saved, and the prompts that do not fit
 * the context. Sends nothing, starts and contacts no server, creates no job and no database.
 */
export async function dryRun(options: RunJobOptions, context: DryRunContext): Promise<DryRunReport> {
  const template = jobTemplateOf(options, context.cwd);
  if (options.inputs.length === 0 && template === undefined) {
    throw new AppError('USAGE', 'no inputs given; expected `batch run --dry-run <folder|file.jsonl|glob|->...` or `--template prompt.md --data rows.csv`');
  }
  const inputs = options.inputs.map((input) => (input === '-' ? input : path.resolve(context.cwd, input)));
  // What the run would send: its shard only, each prompt with the answer shape it would ask for
  // (a schema that cannot work is refused here as the run would refuse it).
  const shard = options.shard === undefined ? undefined : parseInputShard(options.shard);
  const jsonSchema = options.jsonSchema === undefined ? undefined : loadJsonSchemaFile(path.resolve(context.cwd, options.jsonSchema));
  const home = batchHome(context.env, context.cwd);
  const found = findAdviceFor(home, machineIdentity());
  // The run's target, as the run resolves it: a fleet is counted for, never the local default model.
  const target = resolveRunTarget(options);
  const { settings } = resolveRunSettings(options, found.advice, target);
  const managed = target.kind === 'managed';
  const notes: string[] = [];
  const resolveModel = target.kind === 'managed' ? await managedModels(target, context, notes) : undefined;
  const fleetUrls = target.kind === 'fleet' ? fleetUrlsOf(target, context.cwd) : new Set<string>();

  const setup: TallySetup = { resolveModel, contextSize: settings.contextSize, givenContextSize: options.contextSize, measured: found.advice?.measured, fleetUrls };
  const tallies = new Map<string, ModelTally>();
  const tallyOf = async (item: PromptItem): Promise<ModelTally> => {
    const name = requestModel(item);
    const key = name ?? '(default)';
    const known = tallies.get(key);
    if (known !== undefined) return known;
    const tally = newTally(key);
    tallies.set(key, tally);
    await setUpTally(tally, name, setup);
    return tally;
  };
  let counted: CountedPrompts;
  try {
    const records = readJobPrompts(inputs, { cwd: context.cwd, stdin: context.stdin, checkDuplicates: false, template, shard, jsonSchema });
    counted = await countPrompts(records, tallyOf, context.perPrompt === true);
  } finally {
    for (const tally of tallies.values()) await tally.counter?.close();
  }
  const { prompts, invalid, invalidCount, duplicates, duplicateCount, perPrompt } = counted;

  if (found.staleReason !== undefined) notes.push(found.staleReason);
  if (!managed && options.contextSize === undefined) notes.push('prompts go to the servers of --server/--servers: their context and tokenizer are not asked in a dry run; token counts are estimates');
  const models = [...tallies.values()].map((tally): DryRunModel => {
    const { counter: _counter, ...rest } = tally;
    const estimatedMs = tally.completionTokensPerSecond === undefined ? undefined : (tally.maxTokens / tally.completionTokensPerSecond) * 1000;
    return { ...rest, ...(estimatedMs === undefined ? {} : { estimatedMs }) };
  });
  const failing = invalidCount + models.reduce((sum, model) => sum + (model.problem === undefined ? model.refusedCount : model.prompts), 0);
  const refusedOutright = duplicateCount > 0 || (prompts + invalidCount > 0 && failing === prompts + invalidCount) || prompts + invalidCount === 0;
  return {
    prompts,
    invalid,
    invalidCount,
    duplicates,
    duplicateCount,
    models,
    ...(context.perPrompt ? { perPrompt } : {}),
    notes,
    exitCode: refusedOutright ? ExitCode.Usage : ExitCode.Ok,
  };
}

/** What a model's tally is set up from: the managed models' files, or the fleet's URLs. */
interface TallySetup {
  /** The GGUF of a model name on managed servers; undefined for a fleet. */
  readonly resolveModel: ((name: string | undefined) => string) | undefined;
  /** `--ctx` resolved (a managed server's slot). */
  readonly contextSize: number;
  /** `--ctx` as given: a fleet's context is checked only then. */
  readonly givenContextSize: number | undefined;
  readonly measured: { readonly model: string; readonly completionTokensPerSecond: number } | undefined;
  readonly fleetUrls: ReadonlySet<string>;
}

function newTally(model: string): ModelTally {
  return { model, prompts: 0, promptTokens: 0, exactTokens: false, maxTokens: 0, withoutMaxTokens: 0, tooLong: [], tooLongCount: 0, refused: [], refusedCount: 0 };
}

/** A model's tokenizer and context (managed: its GGUF), and the throughput measured for it. */
async function setUpTally(tally: ModelTally, name: string | undefined, setup: TallySetup): Promise<void> {
  const { measured } = setup;
  if (setup.resolveModel === undefined) {
    if (setup.givenContextSize !== undefined) tally.contextSize = setup.givenContextSize;
    if (measured !== undefined && setup.fleetUrls.has(trimSlash(measured.model))) tally.completionTokensPerSecond = measured.completionTokensPerSecond;
    return;
  }
  try {
    const file = setup.resolveModel(name);
    tally.file = file;
    const { PromptTokenCounter } = await import('../../embedded/prompt-token-counter.js');
    tally.counter = await PromptTokenCounter.open(file);
    tally.exactTokens = true;
    // A managed server's slot holds --ctx tokens, at most what the model was trained for.
    const trained = tally.counter.trainContextSize;
    tally.contextSize = trained !== undefined && trained > 0 ? Math.min(setup.contextSize, trained) : setup.contextSize;
    if (measured !== undefined && measured.model === file) tally.completionTokensPerSecond = measured.completionTokensPerSecond;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    tally.problem = error.message;
  }
}

/** What reading the inputs found, beside the per-model tallies. */
interface CountedPrompts {
  readonly prompts: number;
  readonly invalid: string[];
  readonly invalidCount: number;
  readonly duplicates: DryRunReport['duplicates'][number][];
  readonly duplicateCount: number;
  readonly perPrompt: NonNullable<DryRunReport['perPrompt']>[number][];
}

/** Reads every record: duplicates and invalid lines listed, each prompt counted into its model's tally. */
async function countPrompts(records: AsyncIterable<PromptRecord>, tallyOf: (item: PromptItem) => Promise<ModelTally>, keepPerPrompt: boolean): Promise<CountedPrompts> {
  const counted = { prompts: 0, invalid: [] as string[], invalidCount: 0, duplicates: [] as CountedPrompts['duplicates'], duplicateCount: 0, perPrompt: [] as CountedPrompts['perPrompt'] };
  const firstSource = new Map<string, string>();
  for await (const record of records) {
    const { customId, source } = record.ok ? record.item : record.invalid;
    const first = firstSource.get(customId);
    if (first !== undefined) {
      counted.duplicateCount += 1;
      if (counted.duplicates.length < LISTED) counted.duplicates.push({ customId, first, again: source });
    } else firstSource.set(customId, source);
    if (!record.ok) {
      counted.invalidCount += 1;
      if (counted.invalid.length < LISTED) counted.invalid.push(record.invalid.message);
      continue;
    }
    counted.prompts += 1;
    const tally = await tallyOf(record.item);
    const tokens = countTokens(tally, record.item);
    if (tokens !== undefined && keepPerPrompt) counted.perPrompt.push({ customId, model: tally.model, promptTokens: tokens, exactTokens: tally.exactTokens });
  }
  return counted;
}

/** Counts one prompt into its model's tally; undefined when the server would refuse it. */
function countTokens(tally: ModelTally, item: PromptItem): number | undefined {
  tally.prompts += 1;
  const counted = tally.counter?.count(item.endpoint, item.body) ?? { ok: true as const, tokens: estimateTokens(item.body) };
  if (!counted.ok) {
    tally.refusedCount += 1;
    if (tally.refused.length < LISTED) tally.refused.push({ customId: item.customId, source: item.source, message: counted.message });
    return undefined;
  }
  tally.promptTokens += counted.tokens;
  const maxTokens = maxTokensOf(item.body);
  if (maxTokens === undefined) tally.withoutMaxTokens += 1;
  else tally.maxTokens += maxTokens;
  // The embedded server refuses a prompt that fills the slot, and stops an answer at its end.
  if (tally.contextSize !== undefined && (counted.tokens >= tally.contextSize || counted.tokens + (maxTokens ?? 0) > tally.contextSize)) {
    tally.tooLongCount += 1;
    if (tally.tooLong.length < LISTED) tally.tooLong.push({ customId: item.customId, source: item.source, promptTokens: counted.tokens, ...(maxTokens === undefined ? {} : { maxTokens }) });
  }
  return counted.tokens;
}

function maxTokensOf(body: Readonly<Record<string, unknown>>): number | undefined {
  const value = body.max_tokens ?? body.max_completion_tokens;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function estimateTokens(body: Readonly<Record<string, unknown>>): number {
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : Array.isArray(value) ? value.map((part) => text((part as { text?: unknown } | null)?.text)).join('') : '';
  if (Array.isArray(body.messages)) {
    const messages = body.messages as Array<{ content?: unknown }>;
    const chars = messages.reduce((sum, message) => sum + text(message?.content).length, 0);
    return Math.ceil(chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * messages.length;
  }
  return Math.max(1, Math.ceil(text(body.prompt).length / CHARS_PER_TOKEN));
}

/**
 * The GGUF each model name resolves to on managed servers: `--model`s and `--models-dir`, or the
 * default model when neither is given. The default model is never downloaded here (a dry run
 * contacts nothing): the cached one is used, else the generated demo model, and a note says so.
 */
async function managedModels(target: ManagedTarget, context: DryRunContext, notes: string[]): Promise<(name: string | undefined) => string> {
  let models = target.models;
  if (models.length === 0 && target.modelsDir === undefined) {
    const { resolveDefaultModel, isOffline, DEFAULT_MODEL_FILE } = await import('../../models/default-model.js');
    const chosen = await resolveDefaultModel({ env: context.env, offline: true });
    if (chosen.isDemo && !isOffline(context.env)) {
      notes.push(`no --model given and ${DEFAULT_MODEL_FILE} is not downloaded: counted with the generated demo model a run falls back to (a run first tries to download ${DEFAULT_MODEL_FILE}, whose tokenizer differs)`);
    }
    models = [chosen.path];
  }
  const { ModelCatalog } = await import('../../servers/model-catalog.js');
  const catalog = new ModelCatalog({ models, modelsDir: target.modelsDir, cwd: context.cwd });
  return (name) => catalog.resolve(name).path;
}

/**
 * The fleet's URLs, `--server`s and the `--servers` file's (read, so that a file the run would
 * refuse is refused here too; no server is asked anything).
 */
function fleetUrlsOf(target: FleetTarget, cwd: string): Set<string> {
  const fromFile = target.serversFile === undefined ? [] : parseServersFile(path.resolve(cwd, target.serversFile)).map((server) => server.url);
  return new Set([...target.servers, ...fromFile].map(trimSlash));
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
