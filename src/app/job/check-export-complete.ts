import { AppError } from '../../errors.js';
import type { StatusCounts } from '../../store/store-records.js';

/** A job (or one shard of a job) about to be exported, and where it is finished. */
export interface ExportPart {
  /** How messages name it: `job "night" (checkpoints/night.sqlite)`, `shard 2/3 (…)`. */
  readonly label: string;
  /** The job's own name: `batch resume` takes it. */
  readonly job: string;
  readonly counts: StatusCounts;
  /** Whether the job read all of its inputs (`JobRecord.inputsRead`). */
  readonly inputsRead: boolean;
  /** Whether its inputs include standard input (`-`), which no resume can read again. */
  readonly readsStdin: boolean;
}

/** What an export would leave out of one part, and how to finish it; undefined when nothing. */
function shortfall(part: ExportPart): string | undefined {
  const unfinished = part.counts.pending + part.counts.running;
  const reasons = [
    ...(unfinished > 0 ? [`${unfinished} prompt(s) not finished`] : []),
    ...(part.inputsRead ? [] : [part.readsStdin ? 'stopped reading standard input before its end' : 'not read all of its inputs']),
  ];
  if (reasons.length === 0) return undefined;
  const lacks = `${part.label} has ${reasons.join(' and ')}`;
  // Standard input cannot be read again: a resume finishes the prompts the job holds, no more.
  if (!part.inputsRead && part.readsStdin) return `${lacks}; the rest of that input can only be sent with \`batch run - --job ${part.job}\``;
  return `${lacks}; \`batch resume ${part.job}\` where it ran finishes it`;
}

/**
 * Lines naming what each unfinished part lacks and how to finish it; empty when every part is
 * finished (every prompt done or failed, every input read).
 */
export function describeUnfinished(parts: readonly ExportPart[]): string[] {
  return parts.flatMap((part) => shortfall(part) ?? []);
}

/** Whether a job's saved config names standard input among its inputs. */
export function readsStdin(config: Readonly<Record<string, unknown>>): boolean {
  const inputs = (config as { readonly inputs?: unknown }).inputs;
  return Array.isArray(inputs) && inputs.includes('-');
}

/**
 * Refuses, before a line is written, to export a job whose prompts are not all finished, unless
 * `partial`: an output that silently lacks prompts must not look like the job's answers. Throws
 * EXPORT_INCOMPLETE (exit 5) naming what is missing, the resume that finishes it and `--partial`.
 * With `partial`, returns the lines to warn with (on stderr) instead.
 */
export function checkExportComplete(parts: readonly ExportPart[], partial: boolean): string[] {
  const lines = describeUnfinished(parts);
  if (lines.length === 0 || partial) return lines;
  throw new AppError('EXPORT_INCOMPLETE', `nothing written: ${lines.join('; ')}; or pass --partial to write the finished prompts now`);
}
