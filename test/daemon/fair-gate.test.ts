import { describe, expect, it } from 'vitest';
import { FairGate } from '../../src/daemon/fair-gate.js';

describe('FairGate', () => {
  it('admits up to its capacity at once, and gives each freed slot to the waiting clients in turn', async () => {
    const gate = new FairGate(2);
    const order: string[] = [];
    const held = [await gate.enter('a'), await gate.enter('a')];
    expect(gate.busy).toBe(2);
    // Client a queues 6 requests before b queues 2: b still gets every other slot.
    const waiting = [...['a', 'a', 'a', 'a', 'a', 'a', 'b', 'b'].map((client, i) => gate.enter(client).then((leave) => ({ client, i, leave })))];
    expect(gate.waiting).toBe(8);
    const admitted: Array<{ client: string; leave: () => void }> = [];
    for (const p of waiting) void p.then((entry) => admitted.push(entry));
    for (const leave of held) leave();
    for (let round = 0; round < 4; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      const now = admitted.splice(0);
      order.push(...now.map((e) => e.client));
      for (const e of now) e.leave();
    }
    await new Promise((resolve) => setImmediate(resolve));
    order.push(...admitted.splice(0).map((e) => e.client));
    expect(order.slice(0, 4)).toEqual(['a', 'b', 'a', 'b']);
    expect(order).toHaveLength(8);
    expect(gate.busy).toBe(0);
  });

  it('never admits more than its capacity, and a release given twice frees one slot', async () => {
    const gate = new FairGate(1);
    const first = await gate.enter('x');
    let second = false;
    void gate.enter('y').then(() => (second = true));
    first();
    first();
    await new Promise((resolve) => setImmediate(resolve));
    expect(second).toBe(true);
    expect(gate.busy).toBe(1);
  });

  it('drops a waiter whose client went away, without taking a slot', async () => {
    const gate = new FairGate(1);
    const leave = await gate.enter('a');
    const gone = new AbortController();
    const waiting = gate.enter('b', gone.signal);
    gone.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(gate.waiting).toBe(0);
    leave();
    expect(gate.busy).toBe(0);
  });

  it('refuses a capacity that is not a whole number of at least 1', () => {
    expect(() => new FairGate(0)).toThrow(/capacity/);
  });
});
