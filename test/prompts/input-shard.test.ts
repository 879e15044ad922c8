import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { formatInputShard, parseInputShard, selectInputShard, shardOfCustomId } from '../../src/prompts/input-shard.js';
import type { PromptRecord } from '../../src/prompts/prompt-item.js';
import { shardJobName, shardOfJobName, wholeJobName } from '../../src/output/shard-job-name.js';

async function* recordsOf(count: number): AsyncGenerator<PromptRecord> {
  for (let i = 0; i < count; i++) {
    if (i % 17 === 5) yield { ok: false, invalid: { customId: `bad-${i}`, index: i, source: `in.jsonl:${i + 1}`, message: 'in.jsonl: expected JSON' } };
    else yield { ok: true, item: { customId: `c${i}`, index: i, source: `in.jsonl:${i + 1}`, endpoint: '/v1/completions', body: { prompt: `p${i}` } } };
  }
}

async function collect(records: AsyncIterable<PromptRecord>): Promise<PromptRecord[]> {
  const all: PromptRecord[] = [];
  for await (const record of records) all.push(record);
  return all;
}

const indexOf = (record: PromptRecord): number => (record.ok ? record.item.index : record.invalid.index);

describe('--shard K/N', () => {
  it.each([
    ['1/2', { index: 1, count: 2 }],
    ['2/2', { index: 2, count: 2 }],
    [' 3 / 10 ', { index: 3, count: 10 }],
    ['1/1', { index: 1, count: 1 }],
  ])('reads %j', (text, shard) => {
    expect(parseInputShard(text)).toEqual(shard);
    expect(formatInputShard(shard)).toBe(`${shard.index}/${shard.count}`);
  });

  it.each(['3/2', '0/2', 'x', '1/0', '1', '1/2/3', '-1/2', '1.5/2', '', '1/2x'])('refuses %j with a usage error naming the flag and the form', (text) => {
    const error = (() => {
      try {
        parseInputShard(text);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(`expected \`--shard\` to be K/N with whole numbers 1 <= K <= N, such as 1/2 (shard 1 of 2), got ${JSON.stringify(text)}`);
  });
});

describe('shardOfCustomId', () => {
  it('is the documented hash: the first 6 bytes of SHA-256 as a big-endian integer, mod N, plus 1 (fixed values)', () => {
    // sha256("a") = ca978112ca1b…: 0xca978112ca1b = 222752054364699.
    expect(shardOfCustomId('a', 2)).toBe((222_752_054_364_699 % 2) + 1);
    expect(shardOfCustomId('a', 7)).toBe((222_752_054_364_699 % 7) + 1);
    expect(shardOfCustomId('a', 1)).toBe(1);
  });

  it('spreads ids about evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOfCustomId(`request-${i}`, 4) - 1]! += 1;
    for (const count of counts) expect(count).toBeGreaterThan(850);
  });
});

describe('selectInputShard', () => {
  it('gives every record to exactly one of N shards, keeping its position in the whole input', async () => {
    const selection = { seen: 0 };
    const shards = await Promise.all([1, 2, 3].map((index) => collect(selectInputShard(recordsOf(200), { index, count: 3 }, index === 1 ? selection : undefined))));
    expect(selection.seen).toBe(200);
    const all = shards.flat().map(indexOf).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const shard of shards) {
      expect(shard.length).toBeGreaterThan(40);
      const positions = shard.map(indexOf);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
  });
});

describe('shard job names', () => {
  it('are <job>.shard-K-of-N, and lead back to the whole job', () => {
    const name = shardJobName('prompts-1a2b3c4d', { index: 2, count: 3 });
    expect(name).toBe('prompts-1a2b3c4d.shard-2-of-3');
    expect(wholeJobName(name)).toBe('prompts-1a2b3c4d');
    expect(shardOfJobName(name)).toEqual({ index: 2, count: 3 });
    expect(wholeJobName('nightly')).toBe('nightly');
    expect(shardOfJobName('nightly')).toBeUndefined();
    expect(shardOfJobName('x.shard-3-of-2')).toBeUndefined();
  });
});
