import { describe, expect, it } from 'vitest';
import { InputContentHash } from '../../src/prompts/input-content-hash.js';
import type { PromptRecord } from '../../src/prompts/prompt-item.js';
import { chat, feed, invalid } from '../store/fixtures.js';

async function fingerprintOf(records: readonly PromptRecord[]): Promise<string | undefined> {
  const hash = new InputContentHash();
  for await (const _ of hash.tap(feed(records)));
  return hash.fingerprint;
}

describe('InputContentHash: the content fingerprint of a job\'s inputs', () => {
  it('is the same for the same prompts wherever they were read from, and differs when a prompt, its position or the count differ', async () => {
    const base = await fingerprintOf([chat('a', 0), chat('b', 1)]);
    expect(base).toMatch(/^sha256:[0-9a-f]{64}$/);
    const elsewhere = [chat('a', 0), chat('b', 1)].map((r) => (r.ok ? { ok: true as const, item: { ...r.item, source: `/other/place.jsonl:${r.item.index + 1}` } } : r));
    expect(await fingerprintOf(elsewhere)).toBe(base);
    expect(await fingerprintOf([chat('a', 0), chat('b', 1, { temperature: 0 })])).not.toBe(base);
    expect(await fingerprintOf([chat('b', 0), chat('a', 1)])).not.toBe(base);
    expect(await fingerprintOf([chat('a', 0), chat('b', 1), chat('c', 2)])).not.toBe(base);
    expect(await fingerprintOf([chat('a', 0), invalid('b', 1)])).not.toBe(base);
  });

  it('exists only once the records were read to their end: a reading stopped early (Ctrl-C, a failure) leaves none', async () => {
    const hash = new InputContentHash();
    for await (const record of hash.tap(feed([chat('a', 0), chat('b', 1)]))) {
      expect(hash.fingerprint).toBeUndefined();
      if (record.ok && record.item.customId === 'a') break;
    }
    expect(hash.fingerprint).toBeUndefined();
  });
});
