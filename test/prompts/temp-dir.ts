import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { PromptRecord } from '../../src/prompts/prompt-item.js';

/** A temporary folder for one test; `write` creates files (and their folders) inside it. */
export interface TempDir {
  readonly dir: string;
  write(relativePath: string, content: string | Uint8Array): string;
  remove(): void;
}

export function makeTempDir(): TempDir {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-prompts-'));
  return {
    dir,
    write(relativePath, content) {
      const filePath = path.join(dir, relativePath);
      mkdirSync(path.dirname(filePath), { recursive: true });
      writeFileSync(filePath, content);
      return filePath;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function collect(records: AsyncIterable<PromptRecord>): Promise<PromptRecord[]> {
  const all: PromptRecord[] = [];
  for await (const record of records) all.push(record);
  return all;
}

/** A stdin stand-in that yields the given chunks as Buffers. */
export function streamOf(...chunks: (string | Uint8Array)[]): Readable {
  return Readable.from(chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk))));
}

/** Short view of records for assertions: `id` for valid ones, `!message` for invalid ones. */
export function summarize(records: readonly PromptRecord[]): string[] {
  return records.map((r) => (r.ok ? r.item.customId : `!${r.invalid.message}`));
}
