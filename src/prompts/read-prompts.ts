import path from 'node:path';
import { PromptError, UsageError } from '../errors.js';
import { checkStringArray, optionError } from '../util/check-option.js';
import { checkInputsOnce } from './check-inputs-once.js';
import { DuplicateGuard } from './duplicate-guard.js';
import type { PromptDraft } from './prompt-draft.js';
import type { PromptRecord } from './prompt-item.js';
import { DEFAULT_PRIORITY } from './prompt-priority.js';
import { readFileChunks } from './read-file-chunks.js';
import { readJsonl } from './read-jsonl.js';
import { readPromptFile } from './read-prompt-file.js';
import { readPromptFolder } from './read-prompt-folder.js';
import { readTemplateRows, type TemplateInputs } from './read-template-rows.js';
import { resolveInput, type ResolvedInput } from './resolve-input.js';

export type { TemplateInputs };

export { requestModel } from './request-model.js';

export interface ReadPromptsOptions {
  /**
   * Absolute directory that relative inputs are resolved against. Sources and ids keep the
   * inputs as the user typed them, relative to it.
   */
  readonly cwd: string;
  /**
   * Stream read as JSONL for the input `-`.
   * @default undefined (the input `-` is refused)
   */
  readonly stdin?: NodeJS.ReadableStream;
  /**
   * Throw DUPLICATE_CUSTOM_ID when two prompts share a custom_id, and DUPLICATE_INPUT when a file
   * is given twice. Turn off only when the caller checks ids itself.
   * @default true
   */
  readonly checkDuplicates?: boolean;
  /**
   * A template filled from each row of data files (`--template`, `--data`), read after `inputs`.
   * @default undefined (`inputs` only)
   */
  readonly template?: TemplateInputs;
  /**
   * With `checkDuplicates`, also throw DUPLICATE_CUSTOM_ID here. The check holds every custom_id
   * read: turn it off where a store's key finds them instead (`batch run`), so that memory stays
   * flat however many prompts are read.
   * @default true
   */
  readonly checkCustomIds?: boolean;
  /**
   * The priority of the prompts of an input (the input as given, made absolute against `cwd`; `-`
   * for stdin) that set none themselves (`--priority FILE=N`). --data files carry theirs in `template`.
   * @default none (such prompts get 0)
   */
  readonly inputPriorities?: ReadonlyMap<string, number>;
}

/**
 * Reads prompts from folders, .txt/.md files, JSONL files (simple or OpenAI Batch format), globs
 * and `-` (stdin), in the order given, then the rows of a template's data files, numbering them 0, 1, 2, … across all inputs. Everything is
 * streamed: a record is read only when the consumer asks for it.
 *
 * Bad content never stops the others: it yields `{ok: false}` with a `file:line: expected …, got …`
 * message. Problems with the inputs themselves throw a PromptError (exit code 2): a path that
 * matches nothing or an unknown file type, a file given twice (before anything is yielded), a
 * duplicate custom_id, an unreadable file.
 */
export function readPrompts(inputs: readonly string[], options: ReadPromptsOptions): AsyncIterable<PromptRecord> {
  validateOptions(inputs, options);
  return generateRecords(inputs, options);
}

async function* generateRecords(inputs: readonly string[], options: ReadPromptsOptions): AsyncGenerator<PromptRecord> {
  // Every input is resolved first so that a typo in the last path fails at once, not after
  // reading a gigabyte of the first.
  const resolved: ResolvedInput[] = [];
  for (const input of inputs) resolved.push(await resolveInput(input, options.cwd));
  if (options.checkDuplicates !== false) await checkInputsOnce(inputs, resolved);

  const guard = options.checkDuplicates === false || options.checkCustomIds === false ? undefined : new DuplicateGuard();
  let index = 0;
  for (const [i, input] of resolved.entries()) {
    const fallback = options.inputPriorities?.get(inputs[i] === '-' ? '-' : path.resolve(options.cwd, inputs[i]!));
    for await (const draft of readInput(input, options)) {
      guard?.check(draft.customId, draft.source);
      yield toRecord(draft, index, fallback);
      index += 1;
    }
  }
  if (options.template === undefined) return;
  for await (const draft of readTemplateRows(options.template)) {
    guard?.check(draft.customId, draft.source);
    yield toRecord(draft, index);
    index += 1;
  }
}

async function* readInput(input: ResolvedInput, options: ReadPromptsOptions): AsyncGenerator<PromptDraft> {
  switch (input.kind) {
    case 'stdin':
      // Validated to exist when `-` is among the inputs.
      yield* readJsonl(options.stdin as AsyncIterable<Uint8Array | string>, { location: 'stdin', idPrefix: 'stdin' });
      return;
    case 'folder':
      yield* readPromptFolder(input.folderPath, { display: input.display });
      return;
    case 'files':
      for (const file of input.files) {
        if (file.kind === 'prompt') yield await readPromptFile(file.filePath, { source: file.display, customId: file.customId });
        else yield* readJsonl(readFileChunks(file.filePath, file.display), { location: file.display, idPrefix: file.display });
      }
  }
}

/** The draft numbered; a prompt that sets no priority takes its input's `fallback`, else 0. */
function toRecord(draft: PromptDraft, index: number, fallback?: number): PromptRecord {
  if (draft.ok) {
    const { customId, source, endpoint, body, rowData } = draft;
    const priority = draft.priority ?? fallback ?? DEFAULT_PRIORITY;
    return { ok: true, item: { customId, index, source, endpoint, body, ...(rowData === undefined ? {} : { rowData }), priority } };
  }
  const { customId, source, message, rowData } = draft;
  return { ok: false, invalid: { customId, index, source, message, ...(rowData === undefined ? {} : { rowData }) } };
}

function validateOptions(inputs: readonly string[], options: ReadPromptsOptions): void {
  checkStringArray('inputs', inputs);
  if (inputs.length === 0 && options.template === undefined) {
    throw new UsageError('expected at least one input: a folder of .txt/.md prompts, a .jsonl file, a glob, or - for stdin');
  }
  if (typeof options.cwd !== 'string' || !path.isAbsolute(options.cwd)) {
    throw optionError('cwd', 'an absolute path', options.cwd);
  }
  if (options.checkDuplicates !== undefined && typeof options.checkDuplicates !== 'boolean') {
    throw optionError('checkDuplicates', 'a boolean', options.checkDuplicates);
  }
  if (options.checkCustomIds !== undefined && typeof options.checkCustomIds !== 'boolean') {
    throw optionError('checkCustomIds', 'a boolean', options.checkCustomIds);
  }
  const stdinUses = inputs.filter((input) => input === '-').length;
  if (stdinUses > 1) throw new PromptError('PROMPT_FILE_INVALID', '-', 'stdin can be read only once; give `-` a single time');
  if (stdinUses === 1 && (options.stdin === undefined || typeof (options.stdin as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] !== 'function')) {
    throw optionError('stdin', 'a readable stream for the input `-`', options.stdin);
  }
}
