import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { GivenSettings } from '../../app/settings/settings-table.js';
import { AppError, UsageError } from '../../errors.js';
import type { ConcurrencyCurve } from '../../hardware/concurrency-curve.js';
import type { MeasureConcurrencyOptions } from '../../hardware/measure-concurrency.js';
import type { HardwareSummary } from '../../hardware/hardware-summary.js';
import type { ModelProfile } from '../../hardware/model-profile.js';
import type { OptimizationPlan } from '../../hardware/optimization-plan.js';
import type { MeasuredThroughput } from '../../hardware/saved-advice.js';
import type { PromptModelUse, PromptSurvey } from '../../hardware/survey-prompts.js';
import { parseModelOption } from '../../models/parse-model-option.js';
import type { CliIo } from '../io.js';

/**
 * `batch optimize`'s options: its rows of the settings table (src/app/settings/settings-table.ts, where
 * each flag's help and default live), and the prompt inputs whose models it plans for.
 */
export interface OptimizeCommandOptions extends GivenSettings<'optimize'> {
  /** Prompt inputs whose model names are reported (and profiled when they are .gguf paths). @default [] */
  readonly inputs?: readonly string[];
}

function validate(options: OptimizeCommandOptions): void {
  if (options.chart !== undefined && !options.measure) {
    throw new UsageError(`--chart ${options.chart}: a chart needs a measurement; add --measure (with --server URL or --model path.gguf)`);
  }
  if (options.measure && options.hardware !== undefined && options.measureServer === undefined) {
    // The managed server would start here, shaped for the other machine's cores and memory.
    throw new UsageError(
      `--measure with --hardware ${options.hardware}: without --server, --measure starts a server on this machine, which the plan for another machine does not fit; measure that machine's own server with --server URL, or drop --hardware`,
    );
  }
}

async function readHardware(file: string, cwd: string): Promise<HardwareSummary> {
  const { parseHardwareProfile } = await import('../../hardware/parse-hardware-profile.js');
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(`--hardware ${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); pass a JSON profile, e.g. one written by \`batch optimize --json\``, error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: expected a JSON hardware profile, got invalid JSON (${(error as Error).message}); write one with \`batch optimize --json\``, error);
  }
  // The output of `batch optimize --json` nests the profile under "hardware".
  const nested = typeof value === 'object' && value !== null && 'hardware' in value && !('cpu' in value);
  return parseHardwareProfile(nested ? (value as { hardware: unknown }).hardware : value, file);
}

async function profileFile(path: string, id: string | undefined): Promise<ModelProfile> {
  const [{ readGgufInfo }, { profileModel }] = await Promise.all([import('../../models/gguf-reader.js'), import('../../hardware/model-profile.js')]);
  const profile = profileModel(await readGgufInfo(path));
  return id === undefined ? profile : { ...profile, id };
}

function isGgufFile(path: string): boolean {
  try {
    return /\.gguf$/i.test(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}

/** What the prompts ask for, one line per model name. */
function formatPromptModels(uses: readonly PromptModelUse[], known: ReadonlySet<string>): string {
  const lines = ['Models the prompts use:'];
  for (const use of uses) {
    const name = use.name ?? '(none: the default model)';
    const size = use.name === null || known.has(use.name) ? 'profiled' : 'unknown size (not a --model and not a .gguf file; pass --model to plan for it)';
    lines.push(`  ${name}: ${use.prompts} prompt(s), ${size}`);
  }
  return lines.join('\n');
}

/**
 * `batch optimize`: probes the machine (or reads `--hardware`), profiles the models, prints a
 * plan with the reason for every number and the commands that apply it, saves it as defaults
 * for `batch run`, and with `--measure` finds the concurrency a real server serves best.
 */
export async function optimizeCommand(options: OptimizeCommandOptions, io: CliIo): Promise<number> {
  validate(options);
  const notice = (line: string): void => void io.stderr.write(`batch: ${line}\n`);
  const hardware = options.hardware !== undefined ? await readHardware(options.hardware, io.cwd) : await (await import('../../hardware/probe.js')).probeHardware();

  const profiles: ModelProfile[] = [];
  for (const value of options.models ?? []) {
    const { alias, path } = parseModelOption(value, io.cwd);
    profiles.push(await profileFile(path, alias));
  }

  let survey: PromptSurvey | undefined;
  let promptModels: PromptModelUse[] | undefined;
  const inputs = options.inputs ?? [];
  if (inputs.length > 0) {
    const { surveyPrompts } = await import('../../hardware/survey-prompts.js');
    survey = await surveyPrompts(inputs, { cwd: io.cwd, stdin: io.stdin });
    promptModels = survey.models;
    for (const use of promptModels) {
      if (use.name === null || profiles.some((profile) => profile.id === use.name || basename(profile.path) === use.name)) continue;
      const path = resolve(io.cwd, use.name);
      if (isGgufFile(path)) profiles.push(await profileFile(path, use.name));
    }
  }
  const known = new Set(profiles.flatMap((profile) => [profile.id, basename(profile.path)]));

  const [{ advise }, { settingDefault }] = await Promise.all([import('../../hardware/advise.js'), import('../../app/settings/settings-table.js')]);
  const plan = advise(hardware, profiles, { contextSize: options.contextSize ?? settingDefault('optimize', 'contextSize'), ...(inputs.length > 0 ? { inputs } : {}) });

  let curve: ConcurrencyCurve | undefined;
  if (options.measure) curve = await measure(options, plan, survey, io, notice);

  if (options.chart !== undefined && curve !== undefined) notice(`chart written to ${await writeChart(options.chart, curve, io.cwd)}`);

  // A measured concurrency beats the estimate from memory sizes.
  const saved: OptimizationPlan = curve === undefined ? plan : { ...plan, workers: curve.recommended };
  if (curve !== undefined && options.measureServer !== undefined) {
    // A running server's slots and models are its own: only the measured plan applies to it.
    const { measuredPlan, formatMeasuredPlan } = await import('../../hardware/format-measured-plan.js');
    const measured = measuredPlan(curve, inputs);
    io.stdout.write(options.json ? `${JSON.stringify({ curve, plan: measured }, null, 2)}\n` : formatMeasuredPlan(curve, measured));
  } else if (options.json) {
    const promptModelsJson = promptModels?.map((use) => ({ ...use, profiled: use.name === null || known.has(use.name) }));
    io.stdout.write(`${JSON.stringify({ hardware, models: profiles, ...(promptModelsJson ? { promptModels: promptModelsJson } : {}), plan, ...(curve ? { curve } : {}) }, null, 2)}\n`);
  } else {
    const [{ formatHardware, formatModels, formatPlan }, { formatCurve }] = await Promise.all([import('../../hardware/format-plan.js'), import('../../hardware/format-curve.js')]);
    const sections = [formatHardware(hardware)];
    if (profiles.length > 0) sections.push(formatModels(profiles));
    if (promptModels !== undefined) sections.push(formatPromptModels(promptModels, known));
    sections.push(formatPlan(plan).trimEnd());
    if (curve !== undefined) sections.push(formatCurve(curve).trimEnd());
    io.stdout.write(`${sections.join('\n\n')}\n`);
  }

  await saveAdvice(options, saved, curve, io, notice);
  return 0;
}

/** Saves the plan as this machine's advice for later runs, or says why it is not saved. */
async function saveAdvice(options: OptimizeCommandOptions, saved: OptimizationPlan, curve: ConcurrencyCurve | undefined, io: CliIo, notice: (line: string) => void): Promise<void> {
  if (options.hardware !== undefined) {
    // What-if advice describes another machine: saved as this one's, it would size tonight's run wrongly.
    notice(`advice for ${options.hardware} is not saved: it plans for another machine (what-if); \`batch optimize\` without --hardware saves advice for this one`);
  } else if (saved.models.every((model) => !model.fits)) {
    // Advice for models that cannot load would only set tonight's run to fail the same way.
    notice('advice is not saved: no model fits this machine\'s memory (see the warnings); free memory, or plan a smaller model, and run `batch optimize` again');
  } else if (options.save !== false) {
    const [{ saveAdvice: save, plansSeveralModels }, { batchHome }, { machineIdentity }] = await Promise.all([
      import('../../hardware/saved-advice.js'),
      import('../../store/job-paths.js'),
      import('../../hardware/machine-identity.js'),
    ]);
    const path = save(batchHome(io.env, io.cwd), saved, machineIdentity(), new Date(), measuredThroughput(curve, options, io.cwd));
    const maxModels = plansSeveralModels(saved) ? ` --max-models ${saved.maxModels}` : '';
    notice(`advice saved to ${path}: \`batch run\` on this machine uses --workers ${saved.workers}${maxModels} --slots ${saved.slots} --ctx ${saved.contextSize} for flags you leave out (--no-save skips this)`);
    if (maxModels === '') notice('--max-models is not saved: a plan for one model says nothing of how many fit together (plan with every --model a run uses to save it)');
  }
}

/** The prompts' own requests when there are some, so the curve reflects their lengths. */
function sampleRequests(survey: PromptSurvey | undefined, managed: boolean): Pick<MeasureConcurrencyOptions, 'bodies' | 'endpoint'> {
  if (survey === undefined || survey.bodies.length === 0 || survey.endpoint === undefined) return {};
  // A managed server serves the one --model whatever the prompts call it.
  const bodies = managed ? survey.bodies.map(({ model: _model, ...body }) => body) : survey.bodies;
  return { bodies, endpoint: survey.endpoint };
}

async function measure(options: OptimizeCommandOptions, plan: OptimizationPlan, survey: PromptSurvey | undefined, io: CliIo, notice: (line: string) => void): Promise<ConcurrencyCurve> {
  const onLevel = (level: { concurrency: number; completionTokensPerSecond: number; p95LatencyMs: number }): void =>
    notice(`concurrency ${level.concurrency}: ${level.completionTokensPerSecond.toFixed(1)} tokens/s, p95 ${Math.round(level.p95LatencyMs)} ms`);
  if (options.measureServer !== undefined) {
    const [{ openBackend }, { apiKeyFor }, { measureConcurrency }] = await Promise.all([
      import('../../backends/open-backend.js'),
      import('../../app/settings/api-key.js'),
      import('../../hardware/measure-concurrency.js'),
    ]);
    const maxConcurrency = options.maxConcurrency ?? 64;
    const apiKey = apiKeyFor(options.measureServer, options.apiKeyEnv, io.env);
    const backend = await openBackend({ url: options.measureServer, type: options.serverType, apiKey, connections: maxConcurrency });
    try {
      const info = await backend.describe();
      return await measureConcurrency({ backend, model: info.models[0], maxConcurrency, signal: io.hardStop, onLevel, requestsPerLevel: options.requestsPerLevel, ...sampleRequests(survey, false) });
    } finally {
      await backend.close();
    }
  }
  const models = options.models ?? [];
  if (models.length === 0) {
    throw new UsageError('--measure needs a server to measure: pass --server URL (a running server) or --model path.gguf (batch starts one)');
  }
  const [{ measureManagedServer }, { batchHome }, { settingDefault }] = await Promise.all([
    import('../../app/run/measure-managed-server.js'),
    import('../../store/job-paths.js'),
    import('../../app/settings/settings-table.js'),
  ]);
  const logDir = join(batchHome(io.env, io.cwd), 'optimize.logs');
  return measureManagedServer({
    // The server `batch run` would start with this advice: the plan's shape, the user's llama-server flags.
    settings: {
      models: [models[0]!],
      engine: options.engine,
      llamaServer: options.llamaServer,
      llamaServerArgs: options.llamaServerArgs,
      gpuLayers: options.gpuLayers,
      threads: plan.threads,
      slots: plan.slots,
      contextSize: plan.contextSize,
      startupTimeoutMs: options.startupTimeoutMs ?? settingDefault('optimize', 'startupTimeoutMs'),
    },
    cwd: io.cwd,
    env: io.env,
    logDir,
    notice,
    // Past the server's slots requests only queue, so twice the slots shows the plateau.
    measure: { maxConcurrency: options.maxConcurrency ?? 2 * plan.slots, signal: io.hardStop, onLevel, requestsPerLevel: options.requestsPerLevel, ...sampleRequests(survey, true) },
  });
}

/** The throughput at the recommended concurrency, for `batch run --dry-run`'s duration estimates. */
function measuredThroughput(curve: ConcurrencyCurve | undefined, options: OptimizeCommandOptions, cwd: string): MeasuredThroughput | undefined {
  const level = curve?.levels.find((candidate) => candidate.concurrency === curve.recommended);
  if (curve === undefined || level === undefined || !(level.completionTokensPerSecond > 0)) return undefined;
  // A managed server serves the first --model; a running server is known by its URL.
  const first = options.models?.[0];
  const model = options.measureServer !== undefined || first === undefined ? curve.url : parseModelOption(first, cwd).path;
  return { model, completionTokensPerSecond: level.completionTokensPerSecond, concurrency: level.concurrency };
}

/** Writes the measured curve as an SVG chart to `--chart` (a link followed, a device in place); returns its path. */
async function writeChart(chart: string, curve: ConcurrencyCurve, cwd: string): Promise<string> {
  const [{ renderCurveSvg }, { writeTextFile }] = await Promise.all([import('../../hardware/render-curve-svg.js'), import('../../util/write-text-file.js')]);
  const chartPath = resolve(cwd, chart);
  try {
    writeTextFile(chartPath, renderCurveSvg(curve), '--chart');
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new UsageError(`--chart ${chart}: cannot write the chart (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); pass a path in a writable folder`, error);
  }
  return chartPath;
}
