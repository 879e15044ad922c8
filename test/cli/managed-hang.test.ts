import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { isAlive, parseJsonl } from '../helpers/run-cli-process.js';
import { startCliInProcess } from '../helpers/run-cli-in-process.js';
import { pollUntil } from '../helpers/poll-until.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { writeSimLlamaServer } from '../servers/server-fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-managed-hang-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Servers this test froze: thawed and killed whatever happens, so that none outlives it. */
const frozen: number[] = [];
afterEach(() => {
  for (const pid of frozen.splice(0)) {
    for (const signal of ['SIGCONT', 'SIGKILL'] as const) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone: what the test wants.
      }
    }
  }
});

function starts(log: string): Array<{ pid: number }> {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { pid: number }) : [];
}

describe('a managed llama-server that freezes (SIGSTOP)', () => {
  it('is found hung after 3 requests in a row time out, killed, and restarted; every prompt is answered', async () => {
    const model = path.join(dir, 'm1.gguf');
    await writeTinyLlamaGguf(model);
    const log = path.join(dir, 'starts.log');
    const file = path.join(dir, 'p.jsonl');
    // Enough prompts that the freeze lands mid-run however loaded the machine (30 at 20 ms could all be answered first).
    writePrompts(file, 120, 'h', () => ({ max_tokens: 4 }));
    const out = path.join(dir, 'o.jsonl');
    const run = startCliInProcess(
      ['run', file, '--model', model, '--slots', '2', '--timeout', '1', '--llama-server', writeSimLlamaServer(dir, { SIM_START_LOG: log, SIM_SERVICE_MS: '40' }), '--out', out, '--json'],
      { env: { BATCH_HOME: path.join(dir, 'home') } },
    );
    // Frozen once it serves: a server frozen while it starts is the start-up timeout's business.
    await pollUntil(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 3, 'the managed server to answer');
    const [first] = starts(log);
    process.kill(first!.pid, 'SIGSTOP');
    frozen.push(first!.pid);
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/the server of model m1 hangs \(3 request\(s\) of model m1 in a row got no answer within --timeout\): killing it/);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ done: 120, failed: 0 });
    expect(summary.modelLoads).toEqual([expect.objectContaining({ loads: 2 })]);
    expect(starts(log)).toHaveLength(2);
    // The frozen one was killed, not left stopped beside its successor.
    await pollUntil(() => !isAlive(first!.pid), 'the frozen server to be gone');
    expect(parseJsonl(readFileSync(out, 'utf8'))).toHaveLength(120);
  }, 60_000);
});
