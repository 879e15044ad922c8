import { describe, expect, it } from 'vitest';
import { TaskPool } from '../../src/scheduler/task-pool.js';

function deferred(): { readonly promise: Promise<void>; readonly resolve: () => void; readonly reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('TaskPool', () => {
  it('runs at most `concurrency` tasks, starts the next as one ends, and says when the queue shrinks and all is done', async () => {
    const pool = new TaskPool(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const results = gates.map((gate, i) =>
      pool.add(async () => {
        started.push(i);
        await gate.promise;
        return i;
      }),
    );
    expect(started).toEqual([0, 1]);
    expect(pool.size).toBe(2);
    expect(pool.pending).toBe(2);
    let shrunk = false;
    const below = pool.onSizeLessThan(2).then(() => (shrunk = true));
    let idle = false;
    const allDone = pool.onIdle().then(() => (idle = true));
    gates[1]!.resolve();
    await below;
    expect(shrunk).toBe(true);
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    gates[2]!.resolve();
    await results[2];
    expect(started).toEqual([0, 1, 2, 3]);
    expect(idle).toBe(false);
    gates[3]!.resolve();
    await allDone;
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3]);
  });

  it('passes a task\'s failure to its caller and keeps going; clear drops what has not started', async () => {
    const pool = new TaskPool(1);
    const gate = deferred();
    const failing = pool.add(async () => {
      await gate.promise;
    });
    let ran = false;
    void pool.add(async () => {
      ran = true;
    });
    expect(pool.size).toBe(1);
    pool.clear();
    expect(pool.size).toBe(0);
    gate.reject(new Error('boom'));
    await expect(failing).rejects.toThrow('boom');
    await pool.onIdle();
    expect(ran).toBe(false);
    await expect(pool.add(async () => 'after')).resolves.toBe('after');
  });

  it('refuses a concurrency that is not a whole number of at least 1', () => {
    expect(() => new TaskPool(0)).toThrow(/concurrency/);
  });
});
