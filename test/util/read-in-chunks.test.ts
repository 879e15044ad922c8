import { describe, expect, it } from 'vitest';
import { readInChunks } from '../../src/util/read-in-chunks.js';

async function* numbers(count: number): AsyncGenerator<number> {
  for (let i = 0; i < count; i++) yield i;
}

describe('readInChunks', () => {
  it('writes full chunks and the rest at the end, in order', async () => {
    const chunks: number[][] = [];
    const result = await readInChunks(numbers(7), { chunkSize: 3, write: (chunk) => chunks.push([...chunk]) });
    expect(chunks).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(result).toEqual({ stopped: false });
  });

  it('with flushAfterMs, writes what was read when the reader waits, then reports it idle', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let idle = 0;
    const chunks: number[][] = [];
    async function* slow(): AsyncGenerator<number> {
      yield 1;
      yield 2;
      await gate;
      yield 3;
    }
    const reading = readInChunks(slow(), { chunkSize: 100, flushAfterMs: 1, write: (chunk) => chunks.push([...chunk]), onIdle: () => (idle += 1) });
    for (let i = 0; idle === 0; i++) {
      if (i > 2000) throw new Error('never idle');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(chunks).toEqual([[1, 2]]);
    release();
    await reading;
    expect(chunks).toEqual([[1, 2], [3]]);
    expect(idle).toBe(1);
  });

  it('reads no further after a chunk while the promise `pause` returned is pending', async () => {
    let pulled = 0;
    async function* counted(): AsyncGenerator<number> {
      for (let i = 0; i < 6; i++) {
        pulled += 1;
        yield i;
      }
    }
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const chunks: number[][] = [];
    const reading = readInChunks(counted(), { chunkSize: 2, write: (chunk) => chunks.push([...chunk]), pause: () => (chunks.length === 1 ? held : undefined) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(chunks).toEqual([[0, 1]]);
    expect(pulled).toBe(2);
    release();
    await reading;
    expect(chunks).toEqual([[0, 1], [2, 3], [4, 5]]);
  });

  it('stops at once when the signal aborts, even while the reader waits for input that never comes, and releases the reader', async () => {
    const stop = new AbortController();
    let released = false;
    const chunks: number[][] = [];
    async function* stuck(): AsyncGenerator<number> {
      try {
        yield 1;
        yield 2;
      } finally {
        released = true;
      }
    }
    async function* never(): AsyncGenerator<number> {
      yield 0;
      await new Promise(() => undefined);
    }
    const reading = readInChunks(never(), { chunkSize: 100, signal: stop.signal, write: (chunk) => chunks.push([...chunk]) });
    await new Promise((resolve) => setTimeout(resolve, 5));
    stop.abort();
    expect(await reading).toEqual({ stopped: true });
    expect(chunks).toEqual([[0]]);

    const stopped = new AbortController();
    const second = readInChunks(stuck(), { chunkSize: 1, signal: stopped.signal, write: () => stopped.abort() });
    expect(await second).toEqual({ stopped: true });
    await new Promise((resolve) => setImmediate(resolve));
    expect(released).toBe(true);
  });
});
