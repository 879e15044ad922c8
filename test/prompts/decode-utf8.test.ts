import { describe, expect, it } from 'vitest';
import { decodeUtf8, findInvalidUtf8, isBinary } from '../../src/prompts/decode-utf8.js';

describe('decodeUtf8', () => {
  it('decodes valid UTF-8 and drops a leading BOM', () => {
    expect(decodeUtf8(Buffer.from('\uFEFFhé 😀'))).toEqual({ ok: true, text: 'hé 😀' });
  });

  it('reports the offset and value of the first invalid byte', () => {
    expect(decodeUtf8(Buffer.from([0x61, 0x62, 0xff, 0x63]))).toEqual({ ok: false, offset: 2, byte: 0xff });
    // A truncated sequence is invalid at the byte that starts it.
    expect(decodeUtf8(Buffer.from([0x61, 0xc3]))).toEqual({ ok: false, offset: 1, byte: 0xc3 });
  });

  it('agrees with TextDecoder on which byte sequences are valid', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    // A fixed linear congruential generator: the same sequences on every run.
    let seed = 12345;
    const nextByte = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      // Bias towards the interesting range (continuation and lead bytes).
      return seed % 3 === 0 ? seed % 128 : 0x80 + (seed % 128);
    };
    for (let round = 0; round < 3000; round += 1) {
      const bytes = Uint8Array.from({ length: 1 + (round % 6) }, nextByte);
      let valid = true;
      try {
        strict.decode(bytes);
      } catch {
        valid = false;
      }
      expect(findInvalidUtf8(bytes) === -1, Buffer.from(bytes).toString('hex')).toBe(valid);
    }
  });

  it('rejects overlong forms, surrogates and code points above U+10FFFF', () => {
    expect(findInvalidUtf8(Buffer.from([0xc0, 0xaf]))).toBe(0);
    expect(findInvalidUtf8(Buffer.from([0xe0, 0x80, 0xaf]))).toBe(0);
    expect(findInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0);
    expect(findInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0);
    expect(findInvalidUtf8(Buffer.from('ok €'))).toBe(-1);
  });
});

describe('isBinary', () => {
  it('flags data containing NUL bytes', () => {
    expect(isBinary(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00]))).toBe(true);
    expect(isBinary(Buffer.from('plain text\n'))).toBe(false);
  });
});
