import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PromptRecord } from '../../src/prompts/prompt-item.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { connectionOf } from '../../src/store/connection-of.js';
import Database from 'better-sqlite3';
import { appliedMigrations, applyMigrations, migrations } from '../../src/store/migrations.js';
import { chat, done, feed, invalid } from './fixtures.js';

let dir: string;
let store: CheckpointStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'batch-store-'));
  store = CheckpointStore.open({ path: ':memory:' });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const newJob = (name = 'j', config: Record<string, unknown> = {}) => store.openJob({ name, config, inputFingerprint: 'f' });

describe('open', () => {
  it('records migrations once and keeps them on reopen, with 0600 files', () => {
    const file = path.join(dir, 'sub', 'a.sqlite');
    const first = CheckpointStore.open({ path: file });
    first.openJob({ name: 'x', config: {}, inputFingerprint: 'f' });
    expect(appliedMigrations(connectionOf(first))).toEqual(migrations.map((m) => m.name));
    first.close();
    const again = CheckpointStore.open({ path: file });
    expect(appliedMigrations(connectionOf(again))).toEqual(migrations.map((m) => m.name));
    expect(again.getJob('x')?.name).toBe('x');
    for (const suffix of ['', '-wal', '-shm']) expect(statSync(file + suffix).mode & 0o777).toBe(0o600);
    again.close();
  });

  it('reads, read-only, a database from before superseded items existed; the first writable open adds them', () => {
    const file = path.join(dir, 'old.sqlite');
    const old = new Database(file);
    applyMigrations(old, migrations.filter((m) => m.name !== '005_superseded_items'));
    old.prepare(`INSERT INTO jobs (name, created_at, updated_at, config, input_fingerprint, state) VALUES ('old', 1, 1, '{}', 'f', 'interrupted')`).run();
    old.close();
    const reader = CheckpointStore.open({ path: file, readonly: true });
    try {
      expect(reader.listJobs().map((job) => job.name)).toEqual(['old']);
      expect(reader.supersededItems(reader.getJob('old')!.id)).toEqual([]);
    } finally {
      reader.close();
    }
    const writer = CheckpointStore.open({ path: file });
    expect(appliedMigrations(connectionOf(writer))).toContain('005_superseded_items');
    writer.close();
  });

  it('reports a corrupted file, a missing read-only file and an unusable folder as STORE_UNAVAILABLE', () => {
    const bad = path.join(dir, 'bad.sqlite');
    writeFileSync(bad, 'not a database '.repeat(200));
    expect(() => CheckpointStore.open({ path: bad })).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining(bad) }));
    expect(() => CheckpointStore.open({ path: path.join(dir, 'none.sqlite'), readonly: true })).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE' }));
    const file = path.join(dir, 'file');
    writeFileSync(file, '');
    expect(() => CheckpointStore.open({ path: path.join(file, 'x.sqlite') })).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE' }));
  });
});

describe('jobs', () => {
  it('creates then loads a job and scrubs secrets from its config', () => {
    const created = newJob('j', { model: 'm', apiKey: 'sk-1', headers: { Authorization: 'Bearer x' }, url: 'http://u:pw@h/v1', max_tokens: 5 });
    expect(created.isNew).toBe(true);
    const loaded = newJob('j');
    expect(loaded).toMatchObject({ id: created.id, isNew: false });
    const stored = JSON.stringify(loaded.config);
    for (const secret of ['sk-1', 'Bearer x', 'pw']) expect(stored).not.toContain(secret);
    expect(loaded.config).toMatchObject({ model: 'm', max_tokens: 5 });
  });

  it('records runs with credential flags scrubbed from argv', () => {
    const job = newJob();
    const runId = store.startRun(job.id, { pid: 1, host: 'h', argv: ['run', '--api-key', 'sk-9', '--token=t0k', '--max-tokens', '64', 'http://u:pw@h'] });
    store.endRun(runId, 4);
    const run = connectionOf(store).prepare('SELECT argv, exit_code FROM runs WHERE id = ?').get(runId) as { argv: string; exit_code: number };
    expect(run.exit_code).toBe(4);
    for (const secret of ['sk-9', 't0k', 'pw']) expect(run.argv).not.toContain(secret);
    expect(JSON.parse(run.argv)).toContain('64');
  });

  it('locks a job to one live owner and takes over from a dead pid on the same host', () => {
    const job = newJob();
    expect(store.acquireLock(job.id, { pid: process.pid, host: 'h' })).toEqual({});
    expect(() => store.acquireLock(job.id, { pid: process.pid + 1, host: 'h' })).toThrow(expect.objectContaining({ code: 'JOB_LOCKED', message: expect.stringContaining(`pid ${process.pid} on host h`) }));
    store.releaseLock(job.id);
    const child = spawnSync(process.execPath, ['-e', '0']);
    const deadPid = child.pid as number;
    store.acquireLock(job.id, { pid: deadPid, host: 'h' });
    expect(() => store.acquireLock(job.id, { pid: process.pid, host: 'other' })).toThrow(expect.objectContaining({ code: 'JOB_LOCKED' }));
    expect(store.acquireLock(job.id, { pid: process.pid, host: 'h' })).toEqual({ tookOverFrom: { pid: deadPid, host: 'h' } });
  });
});

describe('ingest', () => {
  it('adds, keeps, changes and invalidates items across ingests, and dedups deterministic ones', async () => {
    const job = newJob();
    const first = await store.ingest(job.id, feed([chat('a', 0), chat('b', 1, { temperature: 0 }), chat('c', 2, { temperature: 0 }), invalid('d', 3)]));
    expect(first).toMatchObject({ total: 4, added: 3, unchanged: 0, changed: 0, invalid: 1, duplicates: 0 });
    const second = await store.ingest(job.id, feed([chat('a', 0), chat('b', 1, { temperature: 0 }), chat('e', 2, { temperature: 0, messages: [{ role: 'user', content: 'b' }] }), chat('c', 3, { seed: 1 }), invalid('a2', 4)]));
    // The unreadable line d is no longer in the inputs: its failure goes with it (not superseded: it was never a prompt).
    expect(second).toMatchObject({ total: 5, added: 1, unchanged: 2, changed: 1, changedIds: ['c'], invalid: 1, duplicates: 1, superseded: 0 });
    const row = connectionOf(store).prepare('SELECT duplicate_of, status FROM items WHERE custom_id = ?').get('e');
    expect(row).toEqual({ duplicate_of: 'b', status: 'pending' });
    expect(store.countByStatus(job.id)).toEqual({ pending: 4, running: 0, done: 0, failed: 1, total: 5 });
    expect(connectionOf(store).prepare(`SELECT error_code FROM items WHERE custom_id = 'a2'`).pluck().get()).toBe('PROMPT_INVALID');
    expect(connectionOf(store).prepare(`SELECT count(*) FROM items WHERE custom_id = 'd'`).pluck().get()).toBe(0);
    expect(store.supersededItems(job.id)).toEqual([]);
  });

  it('supersedes items whose lines left the inputs, handing their duplicates a new primary', async () => {
    const job = newJob();
    await store.ingest(job.id, feed([chat('a', 0, { temperature: 0 }), chat('b', 1, { temperature: 0, messages: [{ role: 'user', content: 'a' }] }), chat('c', 2)]));
    expect(connectionOf(store).prepare(`SELECT duplicate_of FROM items WHERE custom_id = 'b'`).pluck().get()).toBe('a');
    const second = await store.ingest(job.id, feed([chat('b', 0, { temperature: 0, messages: [{ role: 'user', content: 'a' }] }), chat('c', 1)]));
    expect(second).toMatchObject({ superseded: 1, supersededIds: ['a'] });
    expect(connectionOf(store).prepare(`SELECT duplicate_of, status FROM items WHERE custom_id = 'b'`).get()).toEqual({ duplicate_of: null, status: 'pending' });
    expect(store.countByStatus(job.id)).toMatchObject({ pending: 2, total: 2 });
    expect(store.supersededItems(job.id)).toEqual([{ customId: 'a', source: expect.any(String), status: 'pending', supersededAt: expect.any(Number) }]);
    // An ingest that stops before the end of its inputs (a duplicate id, an unreadable file) supersedes nothing.
    async function* broken(): AsyncIterable<PromptRecord> {
      yield* feed([chat('c', 0)]);
      throw new Error('unreadable file');
    }
    await expect(store.ingest(job.id, broken())).rejects.toThrow('unreadable file');
    expect(store.countByStatus(job.id)).toMatchObject({ total: 2 });
    // Back in the inputs, it is an item again and no longer superseded.
    await store.ingest(job.id, feed([chat('a', 0, { temperature: 0 }), chat('b', 1, { temperature: 0, messages: [{ role: 'user', content: 'a' }] }), chat('c', 2)]));
    expect(store.supersededItems(job.id)).toEqual([]);
    expect(store.countByStatus(job.id)).toMatchObject({ total: 3 });
  });

  it('keeps done items done and counts them', async () => {
    const job = newJob();
    await store.ingest(job.id, feed([chat('a', 0), chat('b', 1)]));
    const writer = store.createResultWriter(job.id);
    writer.record(done('a'));
    await writer.close();
    const again = await store.ingest(job.id, feed([chat('a', 0), chat('b', 1)]));
    expect(again).toMatchObject({ unchanged: 2, alreadyDone: 1, added: 0 });
    expect(store.countByStatus(job.id)).toMatchObject({ done: 1, pending: 1 });
  });
});

describe('dispatch queries', () => {
  it('pages pending items in input order per model, skipping duplicates and excluded ids', async () => {
    const job = newJob();
    const records = Array.from({ length: 12 }, (_, i) => chat(`p${i}`, i, i % 3 === 0 ? { model: 'b', temperature: i === 0 ? 0 : 1 } : {}));
    await store.ingest(job.id, feed([...records, chat('dupe', 12, { model: 'b', temperature: 0, messages: [{ role: 'user', content: 'p0' }] })]));
    expect(store.pendingModels(job.id)).toEqual([{ model: 'b', pending: 4, priority: 0 }, { model: null, pending: 8, priority: 0 }]);
    const ids: string[] = [];
    for await (const item of store.pendingItems(job.id, { model: null, pageSize: 3, excludeIds: new Set(['p2']) })) ids.push(item.customId);
    expect(ids).toEqual(['p1', 'p4', 'p5', 'p7', 'p8', 'p10', 'p11']);
    const b: string[] = [];
    for await (const item of store.pendingItems(job.id, { model: 'b', pageSize: 2 })) b.push(item.customId);
    expect(b).toEqual(['p0', 'p3', 'p6', 'p9']);
  });

  it('resets interrupted and retryable failed items', async () => {
    const job = newJob();
    await store.ingest(job.id, feed([chat('a', 0), chat('b', 1), chat('c', 2), invalid('d', 3)]));
    const writer = store.createResultWriter(job.id);
    writer.markRunning('a');
    writer.record({ customId: 'b', status: 'failed', attempts: 3, error: { code: 'SERVER_ERROR', message: 'HTTP 500' }, finishedAt: Date.now() });
    await writer.close();
    expect(store.resetInterrupted(job.id)).toBe(1);
    expect(store.resetFailed(job.id)).toBe(1);
    expect(store.countByStatus(job.id)).toMatchObject({ pending: 3, failed: 1 });
  });

  it('applies the cache from another job to pending deterministic items only', async () => {
    const one = newJob('one');
    await store.ingest(one.id, feed([chat('x', 0, { temperature: 0 }), chat('y', 1)]));
    const writer = store.createResultWriter(one.id);
    writer.record(done('x'));
    writer.record(done('y'));
    await writer.close();
    const two = newJob('two');
    await store.ingest(two.id, feed([chat('x', 0, { temperature: 0 }), chat('y', 1)]));
    expect(store.applyCache(two.id)).toBe(1);
    expect(store.countByStatus(two.id)).toMatchObject({ done: 1, pending: 1 });
    expect(store.jobStats(two.id).cached).toBe(1);
  });

  it("keeps a cached answer's fallback: the model that answered and the prompt's own", async () => {
    const one = newJob('fb-one');
    await store.ingest(one.id, feed([chat('x', 0, { temperature: 0 })]));
    const writer = store.createResultWriter(one.id);
    writer.record(done('x', { model: 'small', fallback: { from: 'big', reason: 'server could not start (MODEL_INVALID)' } }));
    await writer.close();
    const two = newJob('fb-two');
    await store.ingest(two.id, feed([chat('x', 0, { temperature: 0 })]));
    expect(store.applyCache(two.id)).toBe(1);
    for (const job of [one, two]) {
      expect([...store.outputRows(job.id)].map((r) => [r.servedModel, r.fallbackFrom])).toEqual([['small', 'big']]);
      expect(store.insightFacts(job.id).fallbacks).toEqual([{ from: 'big', model: 'small', reason: 'server could not start (MODEL_INVALID)', count: 1 }]);
    }
  });
});

describe('jobStats', () => {
  it('computes nearest-rank latency percentiles and groups errors', async () => {
    const job = newJob();
    const records = Array.from({ length: 100 }, (_, i) => chat(`i${i}`, i));
    await store.ingest(job.id, feed(records));
    const writer = store.createResultWriter(job.id, { maxBatch: 1000 });
    for (let i = 0; i < 97; i++) writer.record(done(`i${i}`, { latencyMs: i + 1 }));
    for (let i = 97; i < 100; i++) writer.record({ customId: `i${i}`, status: 'failed', attempts: 1, error: { code: i === 99 ? 'REQUEST_TIMEOUT' : 'SERVER_ERROR', message: 'm' }, finishedAt: Date.now() });
    await writer.close();
    const stats = store.jobStats(job.id);
    expect(stats.latencyMs).toEqual({ p50: 49, p95: 93, p99: 97 });
    expect(stats.topErrors).toEqual([{ code: 'SERVER_ERROR', message: 'm', count: 2 }, { code: 'REQUEST_TIMEOUT', message: 'm', count: 1 }]);
    expect(stats.counts).toMatchObject({ done: 97, failed: 3 });
  });
});
