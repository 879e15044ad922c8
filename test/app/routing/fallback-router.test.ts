import { describe, expect, it } from 'vitest';
import { FallbackRouter } from '../../../src/app/routing/fallback-router.js';
import { AppError, ServerError } from '../../../src/errors.js';
import type { AcquireOptions, RouteLease, Router } from '../../../src/scheduler/router.js';
import { FakeBackend } from '../../scheduler/fake-backend.js';

/** A router whose acquire for each model does what `answer` says, recording every call. */
function scriptedRouter(answer: (model: string | undefined) => AppError | undefined): Router & { calls: Array<[string | undefined, AcquireOptions | undefined]> } {
  const calls: Array<[string | undefined, AcquireOptions | undefined]> = [];
  return {
    calls,
    capacity: 4,
    acquire(model, options) {
      calls.push([model, options]);
      const error = answer(model);
      if (error !== undefined) return Promise.reject(error);
      const lease: RouteLease = { backend: new FakeBackend(`http://127.0.0.1:1/${model}`), model, release: () => ({ excused: false }) };
      return Promise.resolve(lease);
    },
    residentModels: () => [],
    loadStats: () => [],
    close: () => Promise.resolve(),
  };
}

const fallbackOf = (model: string | undefined) => (model === 'big' ? { from: 'big', to: 'small' } : undefined);

describe('FallbackRouter', () => {
  it('a managed server that cannot start: its prompts go to the fallback, and it is not tried again', async () => {
    const inner = scriptedRouter((model) => (model === 'big' ? new ServerError('MODEL_INVALID', 'big.gguf is no GGUF') : undefined));
    const notices: string[] = [];
    const router = new FallbackRouter(inner, { fallbackOf, notice: (line) => notices.push(line) });
    const first = await router.acquire('big');
    const second = await router.acquire('big');
    for (const lease of [first, second]) {
      expect(lease.model).toBe('small');
      expect(lease.fallback).toEqual({ from: 'big', reason: 'server could not start (MODEL_INVALID)' });
    }
    expect(inner.calls.map(([model]) => model)).toEqual(['big', 'small', 'small']);
    expect(notices).toEqual(["model big's server could not start (MODEL_INVALID) (big.gguf is no GGUF); its prompts go to model small (--fallback big=small)"]);
  });

  it("a fleet's model down past --fallback-after: the wait is bounded by it, and the model is asked first again each time (a server that comes back takes its prompts)", async () => {
    let down = true;
    const inner = scriptedRouter((model) => (model === 'big' && down ? new AppError('ALL_SERVERS_DOWN', 'every server of big is down') : undefined));
    const router = new FallbackRouter(inner, { fallbackOf, fallbackAfterMs: 5000 });
    expect((await router.acquire('big')).fallback?.reason).toBe('servers were down longer than --fallback-after 5 s');
    down = false;
    const back = await router.acquire('big');
    expect(back.model).toBe('big');
    expect(back.fallback).toBeUndefined();
    expect(inner.calls).toEqual([['big', { maxDownMs: 5000 }], ['small', { avoid: undefined }], ['big', { maxDownMs: 5000 }]]);
  });

  it('leaves models without a fallback, and failures that say nothing about the server, as they are', async () => {
    const inner = scriptedRouter((model) => (model === 'big' ? new AppError('INTERRUPTED', 'stopped') : new ServerError('MODEL_INVALID', 'bad')));
    const router = new FallbackRouter(inner, { fallbackOf });
    await expect(router.acquire('big')).rejects.toMatchObject({ code: 'INTERRUPTED' });
    await expect(router.acquire('other')).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    expect(inner.calls).toEqual([['big', { maxDownMs: 300000 }], ['other', {}]]);
  });
});
