import { describe, expect, it } from 'vitest';
import { mapRecords } from '../../src/util/map-records.js';

async function* numbers(log: string[], count: number): AsyncGenerator<number> {
  try {
    for (let i = 0; i < count; i++) yield i;
  } finally {
    log.push('source closed');
  }
}

describe('mapRecords', () => {
  it('maps every value in order and calls onEnd once, at the end', async () => {
    const log: string[] = [];
    const mapped = mapRecords(numbers(log, 4), (n) => n * 10, () => log.push('end'));
    const seen: number[] = [];
    for await (const value of mapped) seen.push(value);
    expect(seen).toEqual([0, 10, 20, 30]);
    expect(log).toEqual(['source closed', 'end']);
  });

  it('passes an early stop to the source, without onEnd (the source was not read to its end)', async () => {
    const log: string[] = [];
    for await (const value of mapRecords(numbers(log, 100), (n) => n, () => log.push('end'))) if (value === 2) break;
    expect(log).toEqual(['source closed']);
  });

  it('rejects the read whose value map throws on', async () => {
    const iterator = mapRecords(numbers([], 3), (n) => {
      if (n === 1) throw new Error('bad value 1');
      return n;
    })[Symbol.asyncIterator]();
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 0 });
    await expect(iterator.next()).rejects.toThrow('bad value 1');
  });
});
