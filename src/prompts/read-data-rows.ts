import type { CsvError, Parser } from 'csv-parse';
import { PromptError } from '../errors.js';
import { describeValue, isJsonObject } from '../util/describe-value.js';
import type { DataFileKind } from './data-file-kind.js';
import { decodeUtf8, describeInvalidUtf8 } from './decode-utf8.js';
import { NewlineCounter } from './newline-counter.js';
import { readFileChunks } from './read-file-chunks.js';
import { loadCsvParse } from './load-csv-parse.js';
import { splitLines } from './split-lines.js';

/** One row of a data file, or why it cannot be used. */
export type DataRow =
  | {
      readonly ok: true;
      /** 1-based line the row starts on. */
      readonly line: number;
      readonly columns: readonly string[];
      readonly values: readonly string[];
    }
  | {
      readonly ok: false;
      readonly line: number;
      /** "expected …, got …", without the location. */
      readonly detail: string;
      /** What was read of the row, when anything was. */
      readonly columns?: readonly string[];
      readonly values?: readonly string[];
    };

/** Where a data file is and how it is named in messages. */
export interface DataFile {
  readonly filePath: string;
  /** The file as the user gave it: rows are `<display>:<line>`. */
  readonly display: string;
  readonly kind: DataFileKind;
}

const LF = 0x0a;

/**
 * Reads a data file's rows lazily, one parsed record at a time: CSV and TSV with csv-parse (RFC
 * 4180: quoted fields with delimiters, quotes and newlines; a BOM; CRLF or LF; blank lines
 * skipped), the first record being the header; JSONL one object per non-blank line. A row that
 * cannot be used (another number of fields than the header, not an object, not UTF-8) yields
 * `ok: false` and reading goes on; a quoting error csv-parse cannot recover from ends the file
 * with one such row. An empty file, a header with a repeated column name or an unreadable file
 * throws PROMPT_FILE_INVALID.
 */
export function readDataRows(file: DataFile): AsyncGenerator<DataRow> {
  return file.kind.format === 'jsonl' ? readJsonlRows(file) : readDelimitedRows(file, file.kind.delimiter);
}

async function* readDelimitedRows(file: DataFile, delimiter: string): AsyncGenerator<DataRow> {
  const counter = new NewlineCounter();
  // Records are taken as the parser makes them, not read from its stream: a stream that errors
  // (an unclosed quote at the end of the file) drops the rows it still holds, good ones included.
  const parsed: { readonly record: string[]; readonly end: number }[] = [];
  const parser = loadCsvParse().parse({
    bom: true,
    delimiter,
    relax_column_count: true,
    skip_empty_lines: true,
    on_record: (record: string[], context) => {
      parsed.push({ record, end: context.bytes });
      return null;
    },
  });
  let failure: unknown;
  parser.on('error', (error) => {
    failure ??= error;
  });
  const chunks = readFileChunks(file.filePath, file.display);
  let header: readonly string[] | undefined;
  /** Byte offset just past the last record: where a record that cannot be parsed starts. */
  let recordsEnd = 0;
  try {
    for (let ended = false; !ended && failure === undefined; ) {
      const next = await chunks.next();
      if (next.done === true) {
        await endParser(parser);
        ended = true;
      } else {
        counter.push(Buffer.from(next.value));
        await writeParser(parser, next.value);
      }
      for (const { record, end } of parsed.splice(0)) {
        const { newlines, lastByte } = counter.advance(end);
        const inside = record.reduce((sum, field) => sum + countNewlines(field), 0);
        const line = 1 + newlines - (lastByte === LF ? 1 : 0) - inside;
        recordsEnd = end;
        if (header === undefined) header = checkHeader(record, file.display, line);
        else yield delimitedRow(header, record, line, delimiter);
      }
    }
  } finally {
    await chunks.return(undefined);
    parser.destroy();
  }
  if (failure !== undefined) {
    const csvError = failure as CsvError;
    if (typeof csvError.code !== 'string' || !csvError.code.startsWith('CSV_') && !csvError.code.startsWith('INVALID_')) throw failure;
    // The parser's own line is where it gave up (the end of the file, for an unclosed quote).
    const line = counter.lineAfter(recordsEnd);
    const detail = `${csvError.message.replace(/^Invalid Record Length: |\.$/g, '')}; nothing after it can be read: check the quoting of this row (a field with a quote, ${delimiter === '\t' ? 'tab' : 'comma'} or newline must be quoted, and its quotes doubled)`;
    if (header === undefined) throw new PromptError('PROMPT_FILE_INVALID', `${file.display}:${line}`, detail);
    yield { ok: false, line, detail };
    return;
  }
  if (header === undefined) {
    throw new PromptError('PROMPT_FILE_INVALID', file.display, `expected a header line naming the columns, then one row per prompt; got an empty file`);
  }
}

/** Hands the parser one chunk; its records arrive through `on_record` before this settles. */
function writeParser(parser: Parser, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    parser.write(chunk, () => resolve());
  });
}

/** Ends the parser's input; what it held arrives through `on_record`, or its error, before this settles. */
function endParser(parser: Parser): Promise<void> {
  return new Promise((resolve) => {
    parser.once('error', () => resolve());
    parser.once('finish', () => resolve());
    parser.end();
  });
}

function checkHeader(record: readonly string[], display: string, line: number): readonly string[] {
  const seen = new Map<string, number>();
  for (const [i, name] of record.entries()) {
    const first = seen.get(name);
    if (first !== undefined) {
      throw new PromptError('PROMPT_FILE_INVALID', `${display}:${line}`, `expected distinct column names in the header, got ${JSON.stringify(name)} as columns ${first + 1} and ${i + 1}: rename one`);
    }
    seen.set(name, i);
  }
  return record;
}

function delimitedRow(header: readonly string[], record: readonly string[], line: number, delimiter: string): DataRow {
  if (record.length !== header.length) {
    const sep = delimiter === '\t' ? 'tab' : 'comma';
    return {
      ok: false,
      line,
      detail: `expected ${header.length} field(s) like the header (${header.join(', ')}), got ${record.length}; quote a field that holds a ${sep}`,
      columns: header,
      values: record,
    };
  }
  // csv-parse decodes as UTF-8 and replaces what is not with U+FFFD: sent on, it would garble the prompt.
  const garbled = record.findIndex((field) => field.includes('\uFFFD'));
  if (garbled !== -1) {
    return { ok: false, line, detail: `expected UTF-8 text, got bytes that are not UTF-8 in column ${JSON.stringify(header[garbled])}; save the file as UTF-8`, columns: header, values: record };
  }
  return { ok: true, line, columns: header, values: record };
}

async function* readJsonlRows(file: DataFile): AsyncGenerator<DataRow> {
  let any = false;
  for await (const { lineNumber: line, bytes } of splitLines(readFileChunks(file.filePath, file.display))) {
    const decoded = decodeUtf8(bytes);
    if (!decoded.ok) {
      any = true;
      yield { ok: false, line, detail: describeInvalidUtf8(decoded.byte, decoded.offset + 1) };
      continue;
    }
    if (decoded.text.trim() === '') continue;
    any = true;
    let value: unknown;
    try {
      value = JSON.parse(decoded.text);
    } catch (error) {
      yield { ok: false, line, detail: `expected a JSON object, got malformed JSON (${(error as Error).message})` };
      continue;
    }
    if (!isJsonObject(value)) {
      yield { ok: false, line, detail: `expected a JSON object (one row, its keys the columns), got ${describeValue(value)}` };
      continue;
    }
    const columns = Object.keys(value);
    yield { ok: true, line, columns, values: columns.map((column) => fieldText(value[column])) };
  }
  if (!any) throw new PromptError('PROMPT_FILE_INVALID', file.display, 'expected one JSON object per line, got an empty file');
}

/** A JSONL value as the text a placeholder is filled with: strings as they are, the rest as JSON. */
function fieldText(value: unknown): string {
  return typeof value === 'string' ? value : value === null ? '' : JSON.stringify(value);
}

function countNewlines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count += 1;
  return count;
}
