import { readFileSync } from 'node:fs';
import { writeTextFile } from '../util/write-text-file.js';
import { join } from 'node:path';
import type { OptimizationPlan } from './optimization-plan.js';

/** What `batch run` takes from the last `batch optimize` as defaults for flags not given. */
export interface SavedAdvice {
  readonly workers: number;
  /**
   * Models kept loaded at once; absent when the plan covered one given model: "1 of 1 fits" says
   * nothing of how many fit together, and saved it would hold a later multi-model run to one.
   */
  readonly maxModels?: number;
  readonly slots: number;
  readonly contextSize: number;
  readonly threads: number;
  /** ISO 8601 time of the `batch optimize` that wrote it. */
  readonly savedAt: string;
  /** The machine it was planned for, in full (see `hardwareFingerprint`), for people to read. */
  readonly hardwareFingerprint: string;
  /** The machine it was planned for (see `machineIdentity`): `batch run` uses it only there. */
  readonly machine: string;
  /** What `batch optimize --measure` measured, when it ran: `batch run --dry-run` estimates durations from it. */
  readonly measured?: MeasuredThroughput;
}

/** The throughput `batch optimize --measure` measured at the concurrency it recommends. */
export interface MeasuredThroughput {
  /** The model measured: the GGUF's absolute path (managed server), else the name the server gave. */
  readonly model: string;
  readonly completionTokensPerSecond: number;
  /** Requests in flight at that throughput. */
  readonly concurrency: number;
}

/** Saved advice as `batch run` finds it. */
export type FoundAdvice =
  | { readonly advice: SavedAdvice; readonly staleReason?: undefined }
  | { readonly advice?: undefined; readonly staleReason: string }
  | { readonly advice?: undefined; readonly staleReason?: undefined };

/** `<home>/advice.json` */
export function advicePath(home: string): string {
  return join(home, 'advice.json');
}

/** Whether the plan's `--max-models` weighs models against each other: several given, or the assumed size. */
export function plansSeveralModels(plan: OptimizationPlan): boolean {
  return plan.assumption !== undefined || plan.models.length > 1;
}

/**
 * Writes the plan's run settings to `<home>/advice.json` (through a temporary file and a rename,
 * so a run reading it never sees half a file). Returns the path written.
 */
export function saveAdvice(home: string, plan: OptimizationPlan, machine: string, now: Date = new Date(), measured?: MeasuredThroughput): string {
  const advice: SavedAdvice = {
    workers: plan.workers,
    ...(plansSeveralModels(plan) ? { maxModels: plan.maxModels } : {}),
    slots: plan.slots,
    contextSize: plan.contextSize,
    threads: plan.threads,
    savedAt: now.toISOString(),
    hardwareFingerprint: plan.hardwareFingerprint,
    machine,
    ...(measured === undefined ? {} : { measured }),
  };
  const path = advicePath(home);
  // A link (advice kept with dotfiles) is followed and the file it leads to replaced, not the link.
  writeTextFile(path, `${JSON.stringify(advice, null, 2)}\n`, 'the advice file', { createFolder: true });
  return path;
}

/**
 * The saved advice, or undefined when there is none or the file is unreadable or malformed:
 * advice only supplies defaults, so a bad file must never stop a run.
 */
export function loadAdvice(home: string): SavedAdvice | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(advicePath(home), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const whole = (key: string): number | undefined => {
    const field = record[key];
    return typeof field === 'number' && Number.isInteger(field) && field >= 1 ? field : undefined;
  };
  const workers = whole('workers');
  const maxModels = whole('maxModels');
  const slots = whole('slots');
  const contextSize = whole('contextSize');
  const threads = whole('threads');
  const savedAt = record.savedAt;
  if (record.maxModels !== undefined && maxModels === undefined) return undefined;
  if (workers === undefined || slots === undefined || contextSize === undefined || threads === undefined) return undefined;
  if (typeof savedAt !== 'string' || Number.isNaN(Date.parse(savedAt))) return undefined;
  const fingerprint = record.hardwareFingerprint;
  if (typeof fingerprint !== 'string' || fingerprint === '') return undefined;
  // Advice saved before it named its machine reads as planned for no machine: never applied.
  const machine = typeof record.machine === 'string' ? record.machine : '';
  const measured = measuredOf(record.measured);
  return { workers, ...(maxModels === undefined ? {} : { maxModels }), slots, contextSize, threads, savedAt, hardwareFingerprint: fingerprint, machine, ...(measured === undefined ? {} : { measured }) };
}

function measuredOf(value: unknown): MeasuredThroughput | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { model, completionTokensPerSecond: rate, concurrency } = value as Record<string, unknown>;
  if (typeof model !== 'string' || model === '' || typeof rate !== 'number' || !(rate > 0) || !Number.isFinite(rate)) return undefined;
  if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1) return undefined;
  return { model, completionTokensPerSecond: rate, concurrency };
}

/**
 * The saved advice when it was planned for `machine` (see `machineIdentity`), else why it is not
 * used: advice for another machine would set the workers and slots of a machine that has not
 * got them.
 */
export function findAdviceFor(home: string, machine: string): FoundAdvice {
  const advice = loadAdvice(home);
  if (advice === undefined) return {};
  if (advice.machine !== machine) {
    const planned = advice.machine === '' ? 'an unnamed machine (saved by an older batch)' : `"${advice.machine}"`;
    return { staleReason: `the advice in ${advicePath(home)} was planned for ${planned}, not this one ("${machine}"); it is not used: run \`batch optimize\` here to plan for this machine` };
  }
  return { advice };
}
