import { describe, expect, it } from 'vitest';
import { resolveRunSettings, workersFor } from '../../../src/app/settings/resolve-run-settings.js';
import type { SavedAdvice } from '../../../src/hardware/saved-advice.js';

const managed = { kind: 'managed' } as const;
const advice: SavedAdvice = { workers: 16, maxModels: 3, slots: 8, contextSize: 4096, threads: 6, savedAt: '2026-11-01T00:00:00.000Z', hardwareFingerprint: 'x', machine: 'm' };

describe('resolveRunSettings', () => {
  it('fills the table defaults when nothing else gives a value', () => {
    const { settings, fromAdvice } = resolveRunSettings({}, undefined, managed);
    expect(settings).toMatchObject({ slots: 4, contextSize: 2048, maxModels: 2, timeoutMs: 600_000, retries: 5, maxWaitMs: 1_800_000, graceMs: 30_000, keepAlive: '30m', stream: false, startupTimeoutMs: 600_000 });
    expect(settings.workers).toBeUndefined();
    expect(settings.threads).toBeUndefined();
    expect(fromAdvice).toEqual([]);
  });

  it('takes saved advice for managed servers before the defaults, and a given value before advice', () => {
    const { settings, fromAdvice } = resolveRunSettings({ slots: 2 }, advice, managed);
    expect(settings).toMatchObject({ slots: 2, maxModels: 3, contextSize: 4096 });
    expect(fromAdvice).toEqual(['--max-models 3', '--ctx 4096']);
    // Threads are each server kind's own default (llama-server picks its own) unless given.
    expect(settings.threads).toBeUndefined();
  });

  it('applies only the workers of advice to servers the user runs', () => {
    const { settings, fromAdvice } = resolveRunSettings({ servers: ['http://127.0.0.1:1'] }, advice, { kind: 'fleet' });
    expect(settings).toMatchObject({ slots: 4, maxModels: 2, contextSize: 2048 });
    expect(fromAdvice).toEqual(['--workers 16 (unless the servers report slots)']);
  });

  it('chooses workers: given, else the servers\' slots, else advice, else 4', () => {
    const { settings } = resolveRunSettings({}, undefined, managed);
    expect(workersFor({ ...settings, workers: 3 }, 8, advice)).toBe(3);
    expect(workersFor(settings, 8, advice)).toBe(8);
    expect(workersFor(settings, undefined, advice)).toBe(16);
    expect(workersFor(settings, undefined, undefined)).toBe(4);
  });
});
