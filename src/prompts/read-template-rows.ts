import { createReadStream } from 'node:fs';
import { PromptError } from '../errors.js';
import { DATA_FILE_EXTENSIONS, dataFileKind } from './data-file-kind.js';
import type { PromptDraft } from './prompt-draft.js';
import { parsePriorityText } from './prompt-priority.js';
import { loadPromptTemplate, type PromptTemplate } from './prompt-template.js';
import { loadCsvParse } from './load-csv-parse.js';
import { readDataRows, type DataFile, type DataRow } from './read-data-rows.js';
import type { RowData } from './row-data.js';

/** A file named on the command line: where it is, and how it is shown. */
export interface NamedFile {
  readonly filePath: string;
  /** As the user gave it: sources, custom_ids and messages use it. */
  readonly display: string;
  /** `--priority FILE=N`: the priority of its prompts that set none. */
  readonly priority?: number;
}

/** `--template`, `--data` and `--id-column`. */
export interface TemplateInputs {
  readonly template: NamedFile;
  /** CSV, TSV or JSONL files, read in this order. */
  readonly data: readonly NamedFile[];
  /** Column whose value is each row's custom_id. @default `<data file>:<line>` */
  readonly idColumn?: string;
  /**
   * Column whose value (a number, higher first) is each row's priority; a row whose field is
   * empty or absent takes its data file's `priority`, else the template's `priority:`.
   * @default undefined (the template's `priority:`)
   */
  readonly priorityColumn?: string;
}

/**
 * One chat prompt per row of the data files, the template's `{{column}}` placeholders filled
 * from the row, lazily (one row parsed per prompt asked for). Before the first prompt it reads the
 * template and each file's columns (a CSV/TSV header; JSONL keys, as far as needed to find every
 * placeholder's column) and throws PROMPT_FILE_INVALID naming the template's file:line when a
 * placeholder (or the id column) is a column of no data file: every row would fail. A row that
 * lacks a column the others have fails alone: `rows.csv:17: no column "title" (columns: …)`.
 */
export async function* readTemplateRows(inputs: TemplateInputs): AsyncGenerator<PromptDraft> {
  const files = inputs.data.map((file): DataFile & NamedFile => {
    const kind = dataFileKind(file.filePath);
    if (kind === undefined) {
      throw new PromptError('PROMPT_FILE_INVALID', file.display, `expected a --data file ending in ${DATA_FILE_EXTENSIONS.join(', ')}, got another extension`);
    }
    return { ...file, kind };
  });
  if (files.length === 0) throw new PromptError('PROMPT_FILE_INVALID', inputs.template.display, 'a --template needs at least one --data file with the rows to fill it with');
  const template = await loadPromptTemplate(inputs.template.filePath, inputs.template.display);
  await checkColumns(template, files, inputs.idColumn, inputs.priorityColumn);
  for (const file of files) {
    const fallback = file.priority ?? template.priority;
    for await (const row of readDataRows(file)) yield withPriority(draftOf(template, file, row, inputs.idColumn), fallback, inputs.priorityColumn);
  }
}

function draftOf(template: PromptTemplate, file: DataFile, row: DataRow, idColumn: string | undefined): PromptDraft {
  const source = `${file.display}:${row.line}`;
  const rowData: RowData | undefined = row.columns === undefined || row.values === undefined ? undefined : { source: file.display, line: row.line, columns: row.columns, values: row.values };
  const idValue = idColumn === undefined || rowData === undefined ? undefined : valueOf(rowData, idColumn);
  const customId = idColumn === undefined ? source : idValue !== undefined && idValue !== '' ? idValue : source;
  const fail = (detail: string): PromptDraft => ({ ok: false, customId, source, message: `${source}: ${detail}`, ...(rowData === undefined ? {} : { rowData }) });
  if (!row.ok) return fail(row.detail);
  const data = rowData as RowData;
  const missing = template.placeholders.find((placeholder) => valueOf(data, placeholder.column) === undefined);
  if (missing !== undefined) return fail(`no column ${JSON.stringify(missing.column)} (columns: ${data.columns.join(', ')})`);
  if (idColumn !== undefined && idValue === undefined) return fail(`no column ${JSON.stringify(idColumn)} for the custom_id (--id-column; columns: ${data.columns.join(', ')})`);
  if (idColumn !== undefined && idValue === '') return fail(`expected a custom_id in column ${JSON.stringify(idColumn)} (--id-column), got an empty field`);
  const { body, prompt } = template.render((column) => valueOf(data, column) as string);
  if (prompt.trim() === '') return fail(`expected a prompt, got only white space once ${template.display} was filled from this row`);
  return { ok: true, customId, source, endpoint: '/v1/chat/completions', body, rowData: data };
}

/**
 * The row's priority: its --priority-column field, else `fallback` (its data file's --priority, else
 * the template's `priority:`); a field that is no number fails the row.
 */
function withPriority(draft: PromptDraft, fallback: number | undefined, column: string | undefined): PromptDraft {
  if (!draft.ok) return draft;
  const text = column === undefined || draft.rowData === undefined ? undefined : valueOf(draft.rowData, column);
  if (text === undefined || text.trim() === '') return fallback === undefined ? draft : { ...draft, priority: fallback };
  const priority = parsePriorityText(text);
  if (priority === undefined) {
    const detail = `expected column ${JSON.stringify(column)} (--priority-column) to hold a number (higher is sent first), got ${JSON.stringify(text)}; fix the field or leave it empty for the default`;
    return { ok: false, customId: draft.customId, source: draft.source, message: `${draft.source}: ${detail}`, ...(draft.rowData === undefined ? {} : { rowData: draft.rowData }) };
  }
  return { ...draft, priority };
}

function valueOf(row: RowData, column: string): string | undefined {
  const index = row.columns.indexOf(column);
  return index === -1 ? undefined : row.values[index];
}

/** Refuses a placeholder, an --id-column or a --priority-column that names a column of no data file. */
async function checkColumns(template: PromptTemplate, files: readonly DataFile[], idColumn: string | undefined, priorityColumn: string | undefined): Promise<void> {
  const wanted = new Set(template.placeholders.map((placeholder) => placeholder.column));
  if (idColumn !== undefined) wanted.add(idColumn);
  if (priorityColumn !== undefined) wanted.add(priorityColumn);
  const found = new Set<string>();
  const described: string[] = [];
  for (const file of files) {
    const columns = await dataColumns(file, wanted);
    for (const column of columns) found.add(column);
    described.push(`${file.display}: ${columns.length === 0 ? 'none' : columns.join(', ')}`);
  }
  const columns = `columns of ${described.join('; ')}`;
  const missing = template.placeholders.find((placeholder) => !found.has(placeholder.column));
  if (missing !== undefined) {
    throw new PromptError('PROMPT_FILE_INVALID', `${template.display}:${missing.line}`, `no column ${JSON.stringify(missing.column)} for {{${missing.column}}} in any --data file (${columns}); rename the placeholder or the column`);
  }
  if (idColumn !== undefined && !found.has(idColumn)) {
    throw new PromptError('PROMPT_FILE_INVALID', files[0]!.display, `--id-column ${JSON.stringify(idColumn)} is a column of no --data file (${columns}); name one of them`);
  }
  if (priorityColumn !== undefined && !found.has(priorityColumn)) {
    throw new PromptError('PROMPT_FILE_INVALID', files[0]!.display, `--priority-column ${JSON.stringify(priorityColumn)} is a column of no --data file (${columns}); name one of them`);
  }
}

/**
 * A data file's columns: a CSV/TSV header; for JSONL the keys of its rows, read only until every
 * wanted column is found (usually the first row). Throws PROMPT_FILE_INVALID for an empty file.
 */
async function dataColumns(file: DataFile, wanted: ReadonlySet<string>): Promise<readonly string[]> {
  if (file.kind.format === 'delimited') return readHeader(file, file.kind.delimiter);
  const columns = new Set<string>();
  const rows = readDataRows(file);
  try {
    for await (const row of rows) {
      for (const column of row.columns ?? []) columns.add(column);
      if ([...wanted].every((column) => columns.has(column))) break;
    }
  } finally {
    await rows.return(undefined);
  }
  return [...columns];
}

async function readHeader(file: DataFile, delimiter: string): Promise<readonly string[]> {
  const input = createReadStream(file.filePath);
  const parser = loadCsvParse().parse({ bom: true, delimiter, relax_column_count: true, skip_empty_lines: true, to: 1 });
  input.on('error', (error) => parser.destroy(error));
  try {
    for await (const record of input.pipe(parser) as AsyncIterable<string[]>) return record;
  } catch (error) {
    throw new PromptError('PROMPT_FILE_INVALID', file.display, `cannot read the header (${(error as Error).message}); check the file and its quoting`);
  } finally {
    input.destroy();
    parser.destroy();
  }
  throw new PromptError('PROMPT_FILE_INVALID', file.display, 'expected a header line naming the columns, then one row per prompt; got an empty file');
}
