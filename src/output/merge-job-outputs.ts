import type { Writable } from 'node:stream';
import { AppError } from '../errors.js';
import { formatInputShard, shardOfCustomId, type InputShard } from '../prompts/input-shard.js';
import { csvBom } from './csv-record.js';
import { CsvLayout } from './csv-layout.js';
import { toBatchOutputLine } from './output-line.js';
import type { FinishedItem } from './finished-item.js';
import type { OutputSource } from './output-source.js';
import { write, type OutputOptions, type WriteOutputOptions, type WriteOutputResult } from './write-output.js';
import { writeFileAtomically } from './write-file-atomically.js';

/** One shard's job, in its (open) database. */
export interface ShardJob {
  readonly store: OutputSource;
  readonly job: { readonly id: number; readonly name: string };
  readonly shard: InputShard;
}

function mismatch(message: string): AppError {
  return new AppError('SHARDS_MISMATCHED', message);
}

function where(shard: ShardJob): string {
  return `${shard.store.path} (job "${shard.job.name}", shard ${formatInputShard(shard.shard)})`;
}

/**
 * Checks that `shards` are every shard of one split of job `whole`, each once: one N, and K from
 * 1 to N. Throws SHARDS_MISMATCHED (exit 2) naming the databases and the fix otherwise.
 */
export function checkShardSet(whole: string, shards: readonly ShardJob[]): void {
  if (shards.length === 0) throw mismatch(`no shards of job "${whole}" to merge; pass each shard's database with --db`);
  const count = shards[0]!.shard.count;
  const other = shards.find((s) => s.shard.count !== count);
  if (other !== undefined) {
    throw mismatch(`the shards of job "${whole}" come from different splits: ${where(shards[0]!)} is one of ${count}, ${where(other)} one of ${other.shard.count}; pass the databases of one split (the same N in --shard K/N)`);
  }
  const byIndex = new Map<number, ShardJob>();
  for (const shard of shards) {
    const seen = byIndex.get(shard.shard.index);
    if (seen !== undefined) {
      throw mismatch(`shard ${formatInputShard(shard.shard)} of job "${whole}" was given twice: ${seen.store.path} and ${shard.store.path}; pass each shard's database once`);
    }
    byIndex.set(shard.shard.index, shard);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((index) => !byIndex.has(index));
  if (missing.length > 0) {
    const found = [...byIndex.values()].map(where).join(', ');
    throw mismatch(`shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${count}`).join(', ')} of job "${whole}" missing (found ${found}); pass the database of every shard with --db`);
  }
}

/** The next item of each shard, merged by input position. */
interface Cursor {
  readonly shard: ShardJob;
  readonly items: AsyncIterator<FinishedItem>;
  head: FinishedItem | undefined;
}

/**
 * The finished items of every shard in input order (each keeps its position in the whole input),
 * checking on the way that they fit: an item must belong to its shard by its custom_id's hash, and
 * no input position may be held by two shards (shards of different inputs).
 */
async function* mergedItems(shards: readonly ShardJob[], failedOnly: boolean): AsyncGenerator<FinishedItem> {
  const cursors: Cursor[] = [];
  try {
    for (const shard of shards) {
      const items = shard.store.finishedItems(shard.job.id, { failedOnly })[Symbol.asyncIterator]();
      const cursor: Cursor = { shard, items, head: undefined };
      cursors.push(cursor);
      cursor.head = await nextOf(cursor);
    }
    let last: { readonly cursor: Cursor; readonly index: number } | undefined;
    for (;;) {
      let next: Cursor | undefined;
      for (const cursor of cursors) if (cursor.head !== undefined && (next === undefined || cursor.head.index < next.head!.index)) next = cursor;
      if (next === undefined) return;
      const item = next.head!;
      // Within one job positions only increase: the same one twice comes from two shards.
      if (last !== undefined && item.index === last.index) {
        throw mismatch(`${where(last.cursor.shard)} and ${where(next.shard)} both hold input position ${item.index}: they read different inputs; pass the shards of one set of inputs`);
      }
      yield item;
      last = { cursor: next, index: item.index };
      next.head = await nextOf(next);
    }
  } finally {
    await Promise.all(cursors.map((cursor) => cursor.items.return?.()));
  }
}

async function nextOf(cursor: Cursor): Promise<FinishedItem | undefined> {
  const next = await cursor.items.next();
  if (next.done === true) return undefined;
  const item = next.value;
  const { index, count } = cursor.shard.shard;
  const belongs = shardOfCustomId(item.customId, count);
  if (belongs !== index) {
    throw mismatch(`${where(cursor.shard)} holds "${item.customId}", which belongs to shard ${belongs}/${count}: this database does not hold shard ${index}/${count} of these inputs; pass the databases \`batch run --shard\` made`);
  }
  return item;
}

/**
 * Writes the finished items of all shards of job `whole` to `stream`, in input order, line for
 * line what one run of all the inputs would write (the same `id`s: see `batchRequestId`). Checks
 * the shards first (`checkShardSet`), then reads them once to find an item that shows they do not
 * fit (SHARDS_MISMATCHED) before anything is written. The stream is not ended.
 */
export async function writeMergedOutputTo(whole: string, shards: readonly ShardJob[], stream: Writable, options: OutputOptions): Promise<WriteOutputResult> {
  checkShardSet(whole, shards);
  const format = options.format;
  let lines = 0;
  const failedOnly = options.failedOnly ?? false;
  // Input and answer columns depend on every row, as in one job's export: a first pass decides them.
  const layout = format === 'csv' ? await CsvLayout.of(mergedItems(shards, failedOnly)) : undefined;
  // JSONL too reads the shards once before the first line: a misfit found midway (stdout cannot
  // be taken back) must stop the export before it wrote anything.
  if (layout === undefined) for await (const _ of mergedItems(shards, failedOnly));
  if (layout !== undefined) await write(stream, (options.bom === true ? csvBom : '') + layout.header() + '\r\n');
  for await (const item of mergedItems(shards, failedOnly)) {
    await write(stream, layout === undefined ? `${JSON.stringify(toBatchOutputLine(whole, item))}\n` : `${layout.record(item)}\r\n`);
    lines++;
  }
  return { lines };
}

/**
 * `writeMergedOutputTo` into a file, atomically (a `.tmp` beside it, renamed over it): readers see
 * the old file or the whole new one, and shards that turn out not to fit leave no file behind.
 */
export async function writeMergedOutput(whole: string, shards: readonly ShardJob[], options: WriteOutputOptions): Promise<WriteOutputResult> {
  checkShardSet(whole, shards);
  return writeFileAtomically(options.path, (stream) => writeMergedOutputTo(whole, shards, stream, options));
}
