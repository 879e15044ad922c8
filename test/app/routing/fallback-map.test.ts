import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { checkFallbackModels, checkFallbacks, parseFallbackFlags } from '../../../src/app/routing/fallback-map.js';
import { fallbacksOfServers, parseServers } from '../../../src/app/routing/parse-servers-file.js';

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('fallbacks: --fallback and the servers file', () => {
  it('reads MODEL=OTHER, keyed by the model that falls back', () => {
    const map = checkFallbacks(parseFallbackFlags(['big=small', ' org/m:q4 = org/m:q8 ']));
    expect([...map.values()]).toEqual([
      { from: 'big', to: 'small', where: '--fallback big=small' },
      { from: 'org/m:q4', to: 'org/m:q8', where: '--fallback  org/m:q4 = org/m:q8 ' },
    ]);
  });

  it('refuses a value without a model on either side', () => {
    for (const value of ['big', '=small', 'big=', '']) expect(refusal(() => parseFallbackFlags([value]))).toMatch(/expected MODEL=OTHER/);
  });

  it('refuses itself, two fallbacks for one model, a cycle and a chain, naming where each was given', () => {
    expect(refusal(() => checkFallbacks(parseFallbackFlags(['a=a'])))).toBe('--fallback a=a: model "a" falls back to itself; name another model that can answer its prompts');
    expect(refusal(() => checkFallbacks(parseFallbackFlags(['a=b', 'a=c'])))).toMatch(/--fallback a=c: model "a" already falls back to "b" \(--fallback a=b\)/);
    expect(refusal(() => checkFallbacks(parseFallbackFlags(['a=b', 'b=a'])))).toMatch(/--fallback a=b and --fallback b=a: "a" and "b" fall back to each other \(a cycle\)/);
    expect(refusal(() => checkFallbacks(parseFallbackFlags(['a=b', 'b=c'])))).toMatch(/--fallback a=b: "b" falls back to "c" itself \(--fallback b=c\); chains are not followed/);
    // The same fallback twice is no conflict.
    expect(checkFallbacks(parseFallbackFlags(['a=b', 'a=b'])).size).toBe(1);
  });

  it('refuses a model the run cannot serve', () => {
    const given = parseFallbackFlags(['a=zz']);
    expect(refusal(() => checkFallbackModels(given, (name) => name === 'a', 'among --model a.gguf'))).toBe('--fallback a=zz: no model "zz" among --model a.gguf; name a model the run serves');
  });

  it("reads a servers file entry's fallback for each of its models, and checks it with --fallback's", () => {
    const servers = parseServers(JSON.stringify([{ url: 'http://127.0.0.1:1', models: ['a', 'b'], fallback: 'c' }, { url: 'http://127.0.0.1:2', models: ['c'] }]), 'f.json');
    const fallbacks = fallbacksOfServers(servers, 'f.json');
    expect(fallbacks.map((f) => [f.from, f.to])).toEqual([['a', 'c'], ['b', 'c']]);
    expect(fallbacks[0]!.where).toBe('--servers f.json: entry 1 (servers[0]) field "fallback"');
    expect(refusal(() => checkFallbacks([...parseFallbackFlags(['a=d']), ...fallbacks]))).toMatch(/--servers f.json: entry 1 \(servers\[0\]\) field "fallback": model "a" already falls back to "d" \(--fallback a=d\)/);
  });

  it('refuses a servers file fallback that is no model name, or without models', () => {
    expect(refusal(() => parseServers(JSON.stringify([{ url: 'http://127.0.0.1:1', models: ['a'], fallback: 3 }]), 'f.json'))).toMatch(/entry 1 \(servers\[0\]\) field "fallback": expected the name of the model .*got 3/);
    expect(refusal(() => parseServers(JSON.stringify([{ url: 'http://127.0.0.1:1', fallback: 'b' }]), 'f.json'))).toMatch(/field "fallback": says whose prompts go to "b" only with "models"/);
  });
});
