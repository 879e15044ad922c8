/**
 * The `--data` row a prompt was made from, as stored in `items.row_data` (JSON:
 * `{"source":"rows.csv","line":17,"columns":[…],"values":[…]}`), so that an export can put the
 * input's columns beside the answer and a result opens in a spreadsheet next to its input.
 * `parseRowData` (src/store/) reads it back.
 */
export interface RowData {
  /** The data file as the user gave it. */
  readonly source: string;
  /** 1-based line of the file the row starts on. */
  readonly line: number;
  /** Column names: the header's for CSV/TSV, in its order; the object's keys for JSONL. */
  readonly columns: readonly string[];
  /**
   * The row's fields in column order, as parsed: CSV/TSV strings exactly (quotes undone, nothing
   * trimmed); JSONL strings as they are, other values as JSON text.
   */
  readonly values: readonly string[];
}
