import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { batchHome, jobDbPath, jobNameFor, validateJobName } from '../../src/store/job-paths.js';
import { csvField } from '../../src/store/output-line.js';
import { writeOutput } from '../../src/store/write-output.js';
import { chat, done, feed, testIo } from './fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'batch-output-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function makeJob(home: string, name = 'demo'): Promise<void> {
  const store = CheckpointStore.open({ path: jobDbPath(home, name) });
  const job = store.openJob({ name, config: {}, inputFingerprint: 'f' });
  await store.ingest(job.id, feed([chat('one', 0), chat('two', 1), chat('three', 2), chat('four', 3)]));
  const writer = store.createResultWriter(job.id);
  writer.record(done('three', { latencyMs: 300, model: 'm1' }));
  writer.record(done('one', { latencyMs: 100, response: { statusCode: 200, requestId: 'r1', body: { choices: [{ text: 'say "hi", ok\nbye' }] } } }));
  writer.record({ customId: 'two', status: 'failed', attempts: 1, response: { statusCode: 404, requestId: 'r2', body: { error: 'no model' } }, error: { code: 'MODEL_NOT_FOUND', message: 'model x not found' }, finishedAt: Date.now() });
  await writer.close();
  store.close();
}

describe('writeOutput', () => {
  it('writes OpenAI Batch JSONL of finished items in input order, atomically and 0600', async () => {
    await makeJob(dir);
    const store = CheckpointStore.open({ path: jobDbPath(dir, 'demo'), readonly: true });
    const out = path.join(dir, 'out.jsonl');
    const { lines } = await writeOutput(store, store.getJob('demo')!.id, { path: out, format: 'jsonl' });
    store.close();
    const parsed = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(lines).toBe(3);
    expect(parsed.map((l) => l.custom_id)).toEqual(['one', 'two', 'three']);
    expect(parsed[0]).toMatchObject({ response: { status_code: 200, request_id: 'r1' }, error: null });
    expect(parsed[0]!.id).toMatch(/^batch_req_[0-9a-f]{24}$/);
    expect(parsed[1]).toMatchObject({ response: { status_code: 404 }, error: { code: 'MODEL_NOT_FOUND' } });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(() => statSync(`${out}.tmp`)).toThrow();
  });

  it('writes CSV with RFC 4180 quoting and failed-only filtering', async () => {
    await makeJob(dir);
    const store = CheckpointStore.open({ path: jobDbPath(dir, 'demo'), readonly: true });
    const out = path.join(dir, 'out.csv');
    await writeOutput(store, 1, { path: out, format: 'csv' });
    const rows = readFileSync(out, 'utf8').split('\r\n');
    expect(rows[0]).toBe('custom_id,status,model,content,error_code,error_message,prompt_tokens,completion_tokens,latency_ms');
    expect(rows[1]).toBe('one,done,,"say ""hi"", ok\nbye",,,3,5,100');
    expect(rows[3]).toBe('three,done,m1,answer three,,,3,5,300');
    const { lines } = await writeOutput(store, 1, { path: out, format: 'csv', failedOnly: true });
    expect(lines).toBe(1);
    store.close();
    expect(csvField('plain')).toBe('plain');
  });
});

describe('job paths', () => {
  it('derives home, stable default names and validates names', () => {
    expect(batchHome({}, '/w')).toBe('/w/checkpoints');
    expect(batchHome({ BATCH_HOME: 'state' }, '/w')).toBe('/w/state');
    const name = jobNameFor(['prompts/examples', 'b.jsonl'], '/w');
    expect(name).toMatch(/^prompts-examples-[0-9a-f]{8}$/);
    expect(jobNameFor(['b.jsonl', 'prompts/examples'], '/w')).toBe(name.replace('prompts-examples', 'b'));
    expect(validateJobName(name)).toBe(name);
    expect(() => validateJobName('../x')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
