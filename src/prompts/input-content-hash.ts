import { createHash, type Hash } from 'node:crypto';
import type { PromptRecord } from './prompt-item.js';
import { mapRecords } from '../util/map-records.js';

/** The prefix of a content fingerprint (a job's `input_fingerprint` once its inputs were read whole). */
export const contentFingerprintPrefix = 'sha256:';

/**
 * A fingerprint of what a job's inputs hold: the SHA-256 of every prompt record read, in input
 * order (its custom_id, position, endpoint, request body and --data row; an unreadable line by its
 * id and position). It covers content, not paths: two machines that read the same prompts get
 * the same fingerprint wherever their files lie, and one file whose content changed between two
 * shard runs gets another. Taken before a shard's selection, so every shard of one split of the
 * same inputs holds the same fingerprint.
 */
export class InputContentHash {
  readonly #hash: Hash = createHash('sha256');
  /** Records' text not hashed yet: one update per 64 KiB, not one per record. */
  #pending = '';
  #digest: string | undefined;

  /**
   * `records`, passed through unchanged and hashed on the way. The fingerprint exists only once
   * they were read to their end: a reading stopped early (Ctrl-C, a failure) leaves none.
   */
  tap(records: AsyncIterable<PromptRecord>): AsyncIterable<PromptRecord> {
    return mapRecords(
      records,
      (record) => {
        this.#update(record);
        return record;
      },
      () => this.#finish(),
    );
  }

  /** `sha256:<hex>` once every record was read; undefined while reading or after a stop. */
  get fingerprint(): string | undefined {
    return this.#digest;
  }

  #update(record: PromptRecord): void {
    this.#pending += recordText(record);
    if (this.#pending.length < 1 << 16) return;
    this.#hash.update(this.#pending);
    this.#pending = '';
  }

  #finish(): void {
    if (this.#digest !== undefined) return;
    this.#hash.update(this.#pending);
    this.#pending = '';
    this.#digest = `${contentFingerprintPrefix}${this.#hash.digest('hex')}`;
  }
}

/** One record's share of the hash, newline-terminated so that no two records run together. */
function recordText(record: PromptRecord): string {
  if (!record.ok) return `${JSON.stringify([record.invalid.customId, record.invalid.index, null])}\n`;
  const { customId, index, endpoint, body, rowData } = record.item;
  return `${JSON.stringify([customId, index, endpoint, body, rowData ?? null])}\n`;
}
