/**
 * The input row a prompt was made from (`--data`), as `items.row_data` holds it:
 * `{"source":"rows.csv","line":17,"columns":[…],"values":[…]}`. The export puts its cells beside
 * the answer, so a result opens in a spreadsheet next to its input.
 */
export interface RowData {
  /** The data file, as given. */
  readonly source: string;
  /** The row's line in that file (1-based; the header is line 1 of a CSV). */
  readonly line: number;
  /** The header's column names, in file order. */
  readonly columns: readonly string[];
  /** The row's cells, as read (text), one per column. */
  readonly values: readonly string[];
}

/** `items.row_data` read back; undefined when absent or not shaped as a row (never a guess). */
export function parseRowData(text: string | null): RowData | undefined {
  if (text === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { source, line, columns, values } = value as Record<string, unknown>;
  const strings = (list: unknown): list is string[] => Array.isArray(list) && list.every((cell) => typeof cell === 'string');
  if (typeof source !== 'string' || typeof line !== 'number' || !strings(columns) || !strings(values)) return undefined;
  return { source, line, columns, values };
}
