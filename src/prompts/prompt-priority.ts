import { describeValue } from '../util/describe-value.js';

/** The priority of a prompt that sets none (and whose input has no `--priority` default). */
export const DEFAULT_PRIORITY = 0;

/**
 * Checks a prompt's `priority` (JSONL field, front matter, template column). Higher is sent
 * first. Returns "expected `field` to be …, got …", or undefined when it is a finite number.
 */
export function checkPriority(value: unknown, field = 'priority'): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return undefined;
  return `expected \`${field}\` to be a number (higher is sent first, default ${DEFAULT_PRIORITY}), got ${describeValue(value)}`;
}

/**
 * A priority written as text (a CSV field, a `--priority FILE=N`): a finite decimal number, or
 * undefined. `Number('')` and `Number(' ')` are 0, so blank text is refused here, not read as 0.
 */
export function parsePriorityText(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** A draft's `priority` field: present only when the prompt set one (already checked to be a number). */
export function priorityOf(priority: unknown): { readonly priority?: number } {
  return typeof priority === 'number' ? { priority } : {};
}
