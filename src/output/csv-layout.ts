import { csvColumns, csvField, toCsvRecord } from './csv-record.js';
import type { FinishedItem } from './finished-item.js';

/** The column a non-object answer (a list, a string) is written to. */
const wholeAnswerColumn = 'answer';

/**
 * The columns of a CSV export, decided by a first pass over the items: the input row's columns
 * (`--data`, first-seen order across data files), then the parsed answer's fields (nested
 * fields flattened with dots, in first-seen order, which is the schema's property order for
 * answers a server generated from it), then `batch`'s own columns. A job with neither rows nor
 * parsed answers gets `batch`'s columns alone, as before.
 */
export class CsvLayout {
  /** Input column keys: the name, with its repeat count after a NUL when a header repeats it. */
  readonly #inputKeys: string[] = [];
  readonly #inputSeen = new Set<string>();
  readonly #answerKeys: string[] = [];
  readonly #answerSeen = new Set<string>();

  /** The layout for every item of `items` (read once, before the rows are written). */
  static async of(items: AsyncIterable<FinishedItem>): Promise<CsvLayout> {
    const layout = new CsvLayout();
    for await (const item of items) layout.#add(item);
    return layout;
  }

  #add(item: FinishedItem): void {
    if (item.rowData !== undefined) {
      for (const key of inputKeys(item.rowData.columns)) {
        if (!this.#inputSeen.has(key)) {
          this.#inputSeen.add(key);
          this.#inputKeys.push(key);
        }
      }
    }
    if (item.answer !== undefined) {
      for (const key of flatten(item.answer).keys()) {
        if (!this.#answerSeen.has(key)) {
          this.#answerSeen.add(key);
          this.#answerKeys.push(key);
        }
      }
    }
  }

  /**
   * The header. Input columns keep their names (they must read back as the user wrote them); an
   * answer field named like an input column or one of `batch`'s gets `answer.` in front, and one
   * of `batch`'s columns named like an input column gets `batch.`.
   */
  header(): string {
    const inputNames = this.#inputKeys.map(nameOf);
    const taken = new Set(inputNames);
    const own = new Set<string>(csvColumns);
    const answerNames = this.#answerKeys.map((key) => (taken.has(key) || own.has(key) ? `answer.${key}` : key));
    const ownNames = csvColumns.map((name) => (taken.has(name) ? `batch.${name}` : name));
    return [...inputNames.map(plainField), ...answerNames.map((name) => csvField(name)), ...ownNames.map((name) => csvField(name))].join(',');
  }

  /** One record (without the line break). */
  record(item: FinishedItem): string {
    const cells: string[] = [];
    if (this.#inputKeys.length > 0) {
      const row = new Map<string, string>();
      if (item.rowData !== undefined) {
        const keys = inputKeys(item.rowData.columns);
        keys.forEach((key, i) => row.set(key, item.rowData!.values[i] ?? ''));
      }
      for (const key of this.#inputKeys) cells.push(plainField(row.get(key) ?? ''));
    }
    if (this.#answerKeys.length > 0) {
      const fields = item.answer === undefined ? new Map<string, string>() : flatten(item.answer);
      for (const key of this.#answerKeys) cells.push(csvField(fields.get(key) ?? ''));
    }
    cells.push(toCsvRecord(item));
    return cells.join(',');
  }
}

/** Keys of a header's columns: a name repeated in one header gets its repeat count after a NUL. */
function inputKeys(columns: readonly string[]): string[] {
  const counts = new Map<string, number>();
  return columns.map((name) => {
    const seen = counts.get(name) ?? 0;
    counts.set(name, seen + 1);
    return seen === 0 ? name : `${name}\u0000${seen}`;
  });
}

function nameOf(key: string): string {
  const nul = key.indexOf('\u0000');
  return nul === -1 ? key : key.slice(0, nul);
}

/**
 * RFC 4180 quoting only, for the user's own cells: they are written back exactly as read (no
 * formula guard, which would change them), so the input columns read back byte for byte.
 */
function plainField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * An answer as `path → cell text`: object fields flattened with dots, arrays and empty objects
 * as JSON text, `null` as an empty cell; a non-object answer is one `answer` cell.
 */
export function flatten(answer: unknown): Map<string, string> {
  const cells = new Map<string, string>();
  const visit = (value: unknown, path: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
      for (const [key, sub] of Object.entries(value)) visit(sub, path === '' ? key : `${path}.${key}`);
      return;
    }
    cells.set(path === '' ? wholeAnswerColumn : path, cellText(value));
  };
  visit(answer, '');
  return cells;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
