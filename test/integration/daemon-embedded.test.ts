import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { readDaemonRecord } from '../../src/daemon/daemon-record.js';
import { waitForNoProcesses } from '../helpers/processes.js';
import { parseJsonl, runCliProcess } from '../helpers/run-cli-process.js';
import { writePrompts } from '../helpers/write-prompts.js';

// The daemon on the embedded node-llama-cpp server, the engine a fresh machine has.
let dir: string;
let model: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-daemon-embedded-'));
  model = path.join(dir, 'tiny.gguf');
  await writeTinyLlamaGguf(model, { contextLength: 2048 });
});
afterAll(async () => {
  const record = readDaemonRecord(path.join(dir, 'home'));
  try {
    if (record !== undefined) process.kill(record.pid, 'SIGKILL');
  } catch {
    // Stopped by the test.
  }
  expect(await waitForNoProcesses(dir)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: readonly string[]) {
  return runCliProcess(args, { env: { BATCH_HOME: path.join(dir, 'home') }, cwd: dir, timeoutMs: 120_000 });
}

describe('the daemon with the embedded server', () => {
  it('up, a run that loads the model, a second run with 0 loads, ps, down with nothing left', async () => {
    const up = await cli(['up', '--model', model, '--engine', 'embedded', '--threads', '1', '--slots', '2']);
    expect(up.code, up.stderr).toBe(0);
    for (const [name, count, loads] of [['first', 4, 1], ['second', 3, 0]] as const) {
      const file = path.join(dir, `${name}.jsonl`);
      writePrompts(file, count, name, () => ({ max_tokens: 8 }));
      const run = await cli(['run', file, '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('using the batch daemon');
      const summary = JSON.parse(run.stdout);
      expect(summary).toMatchObject({ done: count, failed: 0 });
      expect(summary.modelLoads.reduce((sum: number, m: { loads: number }) => sum + m.loads, 0)).toBe(loads);
      expect(parseJsonl(readFileSync(summary.output, 'utf8'))).toHaveLength(count);
    }
    const ps = JSON.parse((await cli(['ps', '--json'])).stdout);
    expect(ps.engine).toContain('embedded');
    expect(ps.models).toMatchObject([{ state: 'ready', loads: 1, requestsServed: 7, slots: 2 }]);
    const down = await cli(['down']);
    expect(down.code, down.stderr).toBe(0);
    expect(await waitForNoProcesses(`${dir}/tiny.gguf`)).toEqual([]);
  });
});
