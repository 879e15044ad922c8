import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { openDatabase } from '../../src/store/open-database.js';
import { writeOutput } from '../../src/output/write-output.js';

// Bad options of the store's library API are usage errors (exit 2), as in every module; they used
// to be INTERNAL (exit 1), which reads as a bug in batch.
describe('store option checks', () => {
  it('refuse a bad database path or busy timeout with UsageError', () => {
    expect(() => CheckpointStore.open({ path: '' })).toThrow(new UsageError('expected `path` to be a file path or ":memory:", got ""'));
    expect(() => openDatabase({ path: ':memory:', busyTimeoutMs: -1 })).toThrow(new UsageError('expected `busyTimeoutMs` to be a whole number >= 0, got -1'));
    expect(() => openDatabase({ path: ':memory:', busyTimeoutMs: -1 })).toThrow(UsageError);
  });

  it('refuse bad writer, paging and export options with UsageError', async () => {
    const store = CheckpointStore.open({ path: ':memory:' });
    try {
      const job = store.openJob({ name: 'o', config: {}, inputFingerprint: 'f' });
      expect(() => store.createResultWriter(job.id, { maxBatch: 0 })).toThrow(new UsageError('expected `maxBatch` to be a whole number >= 1, got 0'));
      expect(() => store.createResultWriter(job.id, { onError: 'log' as never })).toThrow(UsageError);
      const pages = store.pendingItems(job.id, { model: null, pageSize: 0 })[Symbol.asyncIterator]();
      await expect(pages.next()).rejects.toThrow(new UsageError('expected `pageSize` to be a whole number >= 1, got 0'));
      await expect(writeOutput(store, job.id, { path: 'out.xml', format: 'xml' as never })).rejects.toThrow(new UsageError('expected `format` to be "jsonl" or "csv", got "xml"'));
      await expect(writeOutput(store, job.id, { path: 'out.xml', format: 'xml' as never })).rejects.toBeInstanceOf(UsageError);
    } finally {
      store.close();
    }
  });
});
