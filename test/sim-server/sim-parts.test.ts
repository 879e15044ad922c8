import { describe, expect, it } from 'vitest';
import { parseLlamaServerArgs } from '../sim/llama-server-args.js';
import { defaultKeepAliveMs, parseKeepAliveMs } from '../sim/model-residency.js';
import { createSeededRandom } from '../../src/models/seeded-random.js';
import { hashText, simAnswer } from '../sim/sim-answer.js';
import { SlotQueue, type SlotWaiter } from '../sim/slot-queue.js';

describe('SlotQueue', () => {
  const waiter = (log: string[], name: string): SlotWaiter => ({ start: () => log.push(name) });

  it('starts up to `slots` at once, then hands freed slots out in FIFO order, skipping cancelled waiters', () => {
    const log: string[] = [];
    const queue = new SlotQueue(2);
    const waiters = ['a', 'b', 'c', 'd', 'e'].map((name) => waiter(log, name));
    for (const w of waiters) queue.enqueue(w);
    expect(log).toEqual(['a', 'b']);
    expect([queue.inService, queue.waiting]).toEqual([2, 3]);
    queue.cancel(waiters[2]!);
    expect(queue.waiting).toBe(2);
    queue.release();
    expect(log).toEqual(['a', 'b', 'd']);
    queue.release();
    queue.release();
    expect(log).toEqual(['a', 'b', 'd', 'e']);
    expect([queue.inService, queue.waiting]).toEqual([1, 0]);
  });

  it('keeps FIFO order across a long queue', () => {
    const log: string[] = [];
    const queue = new SlotQueue(1);
    for (let i = 0; i < 5000; i++) queue.enqueue(waiter(log, String(i)));
    for (let i = 0; i < 5000; i++) queue.release();
    expect(log).toEqual(Array.from({ length: 5000 }, (_, i) => String(i)));
  });
});

describe('parseKeepAliveMs', () => {
  it('reads Ollama durations, seconds and negatives', () => {
    expect(parseKeepAliveMs('5m')).toBe(300_000);
    expect(parseKeepAliveMs('1h30m')).toBe(5_400_000);
    expect(parseKeepAliveMs('250ms')).toBe(250);
    expect(parseKeepAliveMs(30)).toBe(30_000);
    expect(parseKeepAliveMs('30')).toBe(30_000);
    expect(parseKeepAliveMs(0)).toBe(0);
    expect(parseKeepAliveMs('-1')).toBe(-1);
    expect(parseKeepAliveMs('-1m')).toBe(-1);
    expect(parseKeepAliveMs(undefined)).toBe(defaultKeepAliveMs);
    expect(parseKeepAliveMs('soon')).toBe(defaultKeepAliveMs);
  });
});

describe('parseLlamaServerArgs', () => {
  it('reads the flags that matter, in short and long forms, and skips others with or without values', () => {
    expect(parseLlamaServerArgs(['-m', 'x.gguf', '--jinja', '-np', '4', '--port=9000', '-ngl', '-1', '-c', '8192', '--flash-attn', 'on'])).toEqual({
      model: 'x.gguf',
      host: '127.0.0.1',
      port: 9000,
      parallel: 4,
      ctxSize: 8192,
      gpuLayers: '-1',
    });
    expect(parseLlamaServerArgs(['--model', 'y.gguf', '--parallel', '2', '--ctx-size', '0', '--host', '0.0.0.0', '--n-gpu-layers', 'auto'])).toMatchObject({
      model: 'y.gguf',
      parallel: 2,
      ctxSize: 0,
      host: '0.0.0.0',
      gpuLayers: 'auto',
      port: 8080,
    });
    expect(parseLlamaServerArgs([])).toMatchObject({ model: undefined, parallel: 1, ctxSize: 0 });
  });

  it('rejects a missing or bad value', () => {
    expect(() => parseLlamaServerArgs(['-m'])).toThrow('Expected a value after `-m`, got nothing');
    expect(() => parseLlamaServerArgs(['-np', '0'])).toThrow('Expected `-np` to be an integer >= 1, got `0`');
  });
});

describe('answers and randomness', () => {
  it('derives a stable answer from the prompt alone', () => {
    expect(simAnswer('hello')).toBe(`sim:${hashText('hello')}:hello`);
    expect(simAnswer('x'.repeat(100))).toMatch(/^sim:[0-9a-f]{8}:x{40}$/);
    expect(hashText('a')).not.toBe(hashText('b'));
  });

  it('repeats the same sequence for the same seed', () => {
    const draw = (seed: number): number[] => {
      const random = createSeededRandom(seed);
      return Array.from({ length: 5 }, random);
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(7).every((value) => value >= 0 && value < 1)).toBe(true);
  });
});
