import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { JobReader } from '../../src/store/job-reader.js';
import { chat, done, feed } from './fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'batch-reader-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('JobReader', () => {
  it('reads a job another connection is writing, as plain data, and hands out no SQLite handle', async () => {
    const file = path.join(dir, 'j.sqlite');
    const store = CheckpointStore.open({ path: file });
    const job = store.openJob({ name: 'j', config: { version: 1, inputs: [], settings: {} }, inputFingerprint: 'f' });
    await store.ingest(job.id, feed([chat('a', 0), chat('b', 1)]));
    const writer = store.createResultWriter(job.id);
    writer.record(done('a', { endpointUrl: 'http://a', model: 'm' }));
    await writer.flush();

    const reader = JobReader.open({ path: file });
    try {
      expect(reader).not.toBeInstanceOf(CheckpointStore);
      expect(reader.getJob('j')?.id).toBe(job.id);
      expect(reader.countByStatus(job.id)).toMatchObject({ done: 1, pending: 1, total: 2 });
      const finished = [];
      for await (const item of reader.finishedItems(job.id)) finished.push(item.customId);
      expect(finished).toEqual(['a']);
      const facts = reader.insightFacts(job.id);
      expect(facts.perModel.map((g) => [g.key, g.requests])).toEqual([['m', 1]]);
      expect(facts.managedServerStarts).toBe(1);
      expect(reader.reportFacts(job.id).series.source).toBe('items');
      // Queries only: nothing that writes, and no raw connection (the store has none to hand out either).
      expect(['openJob', 'createResultWriter', 'database'].filter((name) => name in reader)).toEqual([]);
      expect('database' in store).toBe(false);
    } finally {
      reader.close();
    }
    await writer.close();
    store.close();
  });

  it('reports a job whose every prompt failed with a start recorded after its finish (a retry marked running late), instead of crashing', async () => {
    const file = path.join(dir, 'late.sqlite');
    const store = CheckpointStore.open({ path: file });
    const job = store.openJob({ name: 'late', config: { version: 1, inputs: [], settings: {} }, inputFingerprint: 'f' });
    await store.ingest(job.id, feed([chat('a', 0)]));
    const writer = store.createResultWriter(job.id);
    writer.markRunning('a');
    writer.record(done('a', { status: 'failed', attempts: 2, response: undefined, latencyMs: undefined, error: { code: 'ANSWER_NO_CONTENT', message: 'null' }, finishedAt: Date.now() - 400 }));
    await writer.flush();
    store.close();
    const reader = JobReader.open({ path: file });
    try {
      expect(reader.reportFacts(job.id).series.source).toBe('items');
    } finally {
      reader.close();
    }
  });

  it('refuses a file that is not there, and leaves none behind', () => {
    const file = path.join(dir, 'missing.sqlite');
    expect(() => JobReader.open({ path: file })).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining(file) }));
    expect(existsSync(file)).toBe(false);
  });
});
