import { describe, expect, it } from 'vitest';
import { canonicalJson, requestHash } from '../../src/store/request-hash.js';

/**
 * The definition, as the first version wrote it (hashes stored by every version must stay equal):
 * keys sorted by Array.prototype.sort, undefined members dropped. Not a key-sorted copy through
 * JSON.stringify: objects list integer-like keys first whatever their insertion order.
 */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((element) => (element === undefined ? 'null' : reference(element))).join(',')}]`;
  const record = value as Record<string, unknown>;
  const entries = Object.keys(record)
    .sort()
    .filter((key) => record[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${reference(record[key])}`);
  return `{${entries.join(',')}}`;
}

/** A small deterministic generator of JSON-like values, with undefined members and odd keys. */
function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 8));
  const keys = ['model', 'messages', 'max_tokens', 'Z', 'ä', '10', '9', 'a b', 'é"\\', '', 'temperature', 'seed', 'zz', 'A', '_'];
  switch (pick) {
    case 0: return null;
    case 1: return next() < 0.5;
    case 2: return Math.floor(next() * 2000) - 1000 + (next() < 0.3 ? 0.25 : 0);
    case 3: return `s${Math.floor(next() * 100)} "q" \n é 😀`;
    case 4: return undefined;
    case 5: return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      const count = Math.floor(next() * (next() < 0.1 ? 20 : 6));
      for (let i = 0; i < count; i++) object[`${keys[Math.floor(next() * keys.length)]}${next() < 0.3 ? i : ''}`] = randomValue(next, depth + 1);
      return object;
    }
  }
}

describe('canonicalJson and requestHash', () => {
  it('keep the hash of a request stored by earlier versions (a changed hash would resend every prompt on resume)', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'héllo "x"\n' }], max_tokens: 16, temperature: 0, zeta: undefined, nested: { b: [1, null, { z: 1, a: 'é' }], a: true } };
    expect(requestHash('/v1/chat/completions', body)).toBe('4978b17c7d20e12d5689a7878315336b5a5c93e94111b7b4f3ddd5f46e7c1a9e');
    expect(canonicalJson({ b: 1, a: [undefined, 2], c: undefined, ä: 1, Z: 2, 10: 1, 9: 2 })).toBe('{"10":1,"9":2,"Z":2,"a":[null,2],"b":1,"ä":1}');
  });

  it('equal the definition for many shapes, key orders and sizes (more than 16 keys included)', () => {
    let seed = 12345;
    const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const value = randomValue(next, 0);
      expect(canonicalJson(value)).toBe(reference(value));
    }
  });

  it('hash two bodies that differ only in key order alike, and different bodies apart', () => {
    const a = requestHash('/v1/chat/completions', { max_tokens: 16, messages: [{ content: 'x', role: 'user' }] });
    expect(requestHash('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], max_tokens: 16 })).toBe(a);
    expect(requestHash('/v1/completions', { messages: [{ role: 'user', content: 'x' }], max_tokens: 16 })).not.toBe(a);
    expect(requestHash('/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], max_tokens: 17 })).not.toBe(a);
  });
});
