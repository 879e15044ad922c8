import { createHash } from 'node:crypto';
import { optionError } from '../util/check-option.js';
import type { PromptRecord } from './prompt-item.js';

/** Shard `index` of `count` (both 1-based, as `--shard K/N` writes them). */
export interface InputShard {
  readonly index: number;
  readonly count: number;
}

/** `--shard`'s text: `K/N` with whole numbers 1 <= K <= N. Throws a UsageError (exit 2) otherwise. */
export function parseInputShard(text: string, where?: string): InputShard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = match === null ? Number.NaN : Number(match[1]);
  const count = match === null ? Number.NaN : Number(match[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) {
    throw optionError('--shard', 'K/N with whole numbers 1 <= K <= N, such as 1/2 (shard 1 of 2)', text, where);
  }
  return { index, count };
}

/** `K/N`, as `--shard` takes it. */
export function formatInputShard(shard: InputShard): string {
  return `${shard.index}/${shard.count}`;
}

/**
 * The shard (1..count) a custom_id belongs to: the first 6 bytes of the SHA-256 of its UTF-8
 * bytes, read as a big-endian unsigned integer, modulo `count`, plus 1. Stable across machines,
 * Node versions and input order, so N machines given the same inputs split them without talking.
 */
export function shardOfCustomId(customId: string, count: number): number {
  return (createHash('sha256').update(customId, 'utf8').digest().readUIntBE(0, 6) % count) + 1;
}

/** What `selectInputShard` passed over. */
export interface ShardSelection {
  /** Records read from the inputs, in every shard. */
  seen: number;
}

/**
 * The records of one shard, in input order, each keeping its position in the whole input
 * (`index`): outputs of the shards merge back in input order. An unreadable line belongs to the
 * shard of the id it is recorded under, so exactly one shard records it.
 */
export async function* selectInputShard(records: AsyncIterable<PromptRecord>, shard: InputShard, selection: ShardSelection = { seen: 0 }): AsyncGenerator<PromptRecord> {
  for await (const record of records) {
    selection.seen += 1;
    const customId = record.ok ? record.item.customId : record.invalid.customId;
    if (shardOfCustomId(customId, shard.count) === shard.index) yield record;
  }
}
