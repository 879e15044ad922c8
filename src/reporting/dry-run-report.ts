import { formatDuration } from './format-duration.js';

/** A prompt named in a dry run's report. */
export interface DryRunPromptRef {
  readonly customId: string;
  readonly source: string;
}

/** One model's share of a dry run. */
export interface DryRunModel {
  /** The model as prompts name it, or `(default)` for prompts that name none. */
  readonly model: string;
  /** The GGUF counted with, when there is one (managed servers). */
  readonly file?: string;
  /** Why the model cannot be used (a name no --model or --models-dir resolves); its prompts would fail. */
  readonly problem?: string;
  readonly prompts: number;
  readonly promptTokens: number;
  /** True: counted with the model's tokenizer and chat template; false: estimated from characters. */
  readonly exactTokens: boolean;
  /** Sum of `max_tokens` (or `max_completion_tokens`) of the prompts that set one. */
  readonly maxTokens: number;
  /** Prompts that set no `max_tokens`: the server's own limit applies. */
  readonly withoutMaxTokens: number;
  /** Context per slot the prompts must fit, when known. */
  readonly contextSize?: number;
  /** Prompts whose tokens plus `max_tokens` exceed `contextSize` (the first 20), and how many in all. */
  readonly tooLong: readonly (DryRunPromptRef & { readonly promptTokens: number; readonly maxTokens?: number })[];
  readonly tooLongCount: number;
  /** Prompts the server would refuse as they are (the first 20), and how many in all. */
  readonly refused: readonly (DryRunPromptRef & { readonly message: string })[];
  readonly refusedCount: number;
  /** Completion tokens per second `batch optimize --measure` measured for this model, when it did. */
  readonly completionTokensPerSecond?: number;
  /** `maxTokens` at that rate: the longest the generation should take. */
  readonly estimatedMs?: number;
}

/** What `batch run --dry-run` prints (`--json` prints this object). */
export interface DryRunReport {
  /** Usable prompts. */
  readonly prompts: number;
  /** Unreadable prompts (the first 20, `file:line: …`), and how many in all. */
  readonly invalid: readonly string[];
  readonly invalidCount: number;
  /** custom_ids given to more than one prompt (the first 20), and how many repeats in all. */
  readonly duplicates: readonly { readonly customId: string; readonly first: string; readonly again: string }[];
  readonly duplicateCount: number;
  readonly models: readonly DryRunModel[];
  /** With `--json` only: every prompt's count, in input order. */
  readonly perPrompt?: readonly { readonly customId: string; readonly model: string; readonly promptTokens: number; readonly exactTokens: boolean }[];
  /** Things the numbers depend on, in words. */
  readonly notes: readonly string[];
  /** 0 when the run could go ahead, 2 when it would be refused or every prompt would fail (exit code of the dry run). */
  readonly exitCode: number;
}

/** The dry run as a few lines for a person. */
export function formatDryRunReport(report: DryRunReport): string {
  const lines: string[] = [`dry run: nothing was sent and no job was created`, `prompts     ${report.prompts} to send, ${report.invalidCount} invalid, ${report.duplicateCount} duplicate custom_id(s)`];
  for (const message of report.invalid) lines.push(`  invalid   ${message}`);
  if (report.invalidCount > report.invalid.length) lines.push(`  … ${report.invalidCount - report.invalid.length} more invalid`);
  for (const duplicate of report.duplicates) lines.push(`  duplicate ${JSON.stringify(duplicate.customId)} at ${duplicate.again} (first at ${duplicate.first})`);
  if (report.duplicateCount > report.duplicates.length) lines.push(`  … ${report.duplicateCount - report.duplicates.length} more duplicates`);
  for (const model of report.models) {
    lines.push('', `model ${model.model}${model.file === undefined ? '' : ` (${model.file})`}`);
    if (model.problem !== undefined) lines.push(`  cannot run: ${model.problem}`);
    lines.push(`  prompts        ${model.prompts}`);
    lines.push(`  prompt tokens  ${model.promptTokens} (${model.exactTokens ? "counted with the model's tokenizer and chat template" : 'estimated: about 4 characters a token; give a --model GGUF for exact counts'})`);
    lines.push(`  max_tokens     ${model.maxTokens}${model.withoutMaxTokens > 0 ? ` (+ ${model.withoutMaxTokens} prompt(s) without max_tokens: the server's limit applies)` : ''}`);
    lines.push(
      model.estimatedMs === undefined
        ? `  duration       unknown: no throughput measured for this model (\`batch optimize --measure\` measures it)`
        : `  duration       at most ${formatDuration(model.estimatedMs)} of generation (max_tokens at ${(model.completionTokensPerSecond ?? 0).toFixed(1)} tokens/s, measured by \`batch optimize --measure\`)`,
    );
    if (model.contextSize === undefined) lines.push('  context        unknown: a dry run does not ask a running server; pass --ctx to check against a context size');
    else if (model.tooLongCount === 0) lines.push(`  context        every prompt fits ${model.contextSize} tokens per slot (prompt + max_tokens)`);
    else {
      lines.push(`  context        ${model.tooLongCount} prompt(s) do not fit ${model.contextSize} tokens per slot (prompt + max_tokens):`);
      for (const prompt of model.tooLong) lines.push(`    ${prompt.customId} (${prompt.source}): ${prompt.promptTokens} + ${prompt.maxTokens ?? 0} tokens`);
      if (model.tooLongCount > model.tooLong.length) lines.push(`    … ${model.tooLongCount - model.tooLong.length} more`);
    }
    for (const prompt of model.refused) lines.push(`  refused        ${prompt.customId} (${prompt.source}): ${prompt.message}`);
    if (model.refusedCount > model.refused.length) lines.push(`  … ${model.refusedCount - model.refused.length} more refused`);
  }
  if (report.notes.length > 0) lines.push('', ...report.notes.map((note) => `note: ${note}`));
  return `${lines.join('\n')}\n`;
}
