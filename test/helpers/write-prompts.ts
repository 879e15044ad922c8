import { writeFileSync } from 'node:fs';

/**
 * Writes `count` simple JSONL prompts: id `<prefix><i>`, prompt `<prefix> prompt <i>`, plus the
 * fields `extra(i)` returns for each (a model, max_tokens, …).
 */
export function writePrompts(file: string, count: number, prefix: string, extra: (i: number) => Record<string, unknown> = () => ({})): void {
  writeFileSync(file, Array.from({ length: count }, (_, i) => JSON.stringify({ id: `${prefix}${i}`, prompt: `${prefix} prompt ${i}`, ...extra(i) })).join('\n') + '\n');
}
