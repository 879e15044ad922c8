import type { RowData } from '../prompts/row-data.js';

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
