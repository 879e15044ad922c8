import { writeDemoJob } from '../cli/demo-job.js';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { batchHome, jobDbPath, jobNameFor, validateJobName } from '../../src/store/job-paths.js';
import { csvField } from '../../src/output/output-line.js';
import { writeOutput } from '../../src/output/write-output.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'batch-output-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeOutput', () => {
  it('writes OpenAI Batch JSONL of finished items in input order, atomically and 0600', async () => {
    await writeDemoJob(dir);
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
    await writeDemoJob(dir);
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
