import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { connectionOf } from '../../src/store/connection-of.js';
import { groupPercentiles, percentileRank } from '../../src/store/group-percentiles.js';
import type { JobRecord } from '../../src/store/store-records.js';
import { chat, feed } from './fixtures.js';

let store: CheckpointStore;
let job: JobRecord;
beforeEach(() => {
  store = CheckpointStore.open({ path: ':memory:' });
  job = store.openJob({ name: 'j', config: { version: 1, inputs: [], settings: { workers: 4 } }, inputFingerprint: 'f' });
});
afterEach(() => store.close());

interface Row {
  readonly served: string | null;
  readonly model: string | null;
  readonly url: string | null;
  readonly status: string;
  readonly attempts: number;
  readonly latency: number | null;
  readonly ttft: number | null;
}

/** The definition, by brute force: sort the values each group selects, read them at nearest ranks. */
function expected(values: number[]): { p50: number; p95: number; p99: number } | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[percentileRank(sorted.length, 50)]!, p95: sorted[percentileRank(sorted.length, 95)]!, p99: sorted[percentileRank(sorted.length, 99)]! };
}

describe('groupPercentiles', () => {
  it('gives the job, each model and each server the nearest-rank percentiles their own items select', async () => {
    const count = 700;
    await store.ingest(job.id, feed(Array.from({ length: count }, (_, i) => chat(`p${i}`, i))));
    let seed = 7;
    const next = (n: number): number => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
    const rows: Row[] = Array.from({ length: count }, () => ({
      served: [null, 'm1', 'm2', 'm3'][next(4)]!,
      model: [null, 'asked'][next(2)]!,
      url: [null, 'http://a', 'http://b'][next(3)]!,
      status: ['done', 'done', 'done', 'failed', 'pending'][next(5)]!,
      // A copied answer (duplicate, cache) sent nothing: attempts 0, whatever its values say.
      attempts: next(6) === 0 ? 0 : 1 + next(3),
      latency: next(8) === 0 ? null : next(5000),
      ttft: next(3) === 0 ? null : next(900),
    }));
    const update = connectionOf(store).prepare('UPDATE items SET served_model = ?, model = ?, endpoint_url = ?, status = ?, attempts = ?, latency_ms = ?, ttft_ms = ? WHERE job_id = ? AND custom_id = ?');
    rows.forEach((row, i) => update.run(row.served, row.model, row.url, row.status, row.attempts, row.latency, row.ttft, job.id, `p${i}`));

    const modelOf = (row: Row): string => row.served ?? row.model ?? '(default model)';
    const serverOf = (row: Row): string => row.url ?? '(no server)';
    for (const column of ['latency', 'ttft'] as const) {
      const got = groupPercentiles(connectionOf(store), job.id, column === 'latency' ? 'latency_ms' : 'ttft_ms');
      const valued = rows.filter((row) => row.status === 'done' && row[column] !== null);
      expect(got.job).toEqual(expected(valued.map((row) => row[column]!)));
      const sent = valued.filter((row) => row.attempts > 0);
      for (const [by, keyOf] of [['model', modelOf], ['server', serverOf]] as const) {
        const keys = new Set(sent.map(keyOf));
        expect(new Set(got[by].keys())).toEqual(keys);
        for (const key of keys) expect(got[by].get(key)).toEqual(expected(sent.filter((row) => keyOf(row) === key).map((row) => row[column]!)));
      }
    }
  });

  it('gives null and no groups for a job with no values', async () => {
    await store.ingest(job.id, feed([chat('a', 0)]));
    expect(groupPercentiles(connectionOf(store), job.id, 'latency_ms')).toEqual({ job: null, model: new Map(), server: new Map() });
  });
});
