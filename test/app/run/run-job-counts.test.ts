import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../helpers/poll-until.js';
import { startCliInProcess, runCliInProcess } from '../../helpers/run-cli-in-process.js';
import { writePrompts } from '../../helpers/write-prompts.js';
import { startSimServer } from '../../sim/sim-server.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-app-counts-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('counts after a stopped run', () => {
  it('a soft then hard stop: "sent" is what the server received, and no prompt is left running', async () => {
    const server = await startSimServer({ slots: 4, script: (n) => (n <= 4 ? 'hang' : 'ok') });
    try {
      const file = path.join(dir, 'stop.jsonl');
      writePrompts(file, 40, 's', () => ({ max_tokens: 4 }));
      const env = { BATCH_HOME: path.join(dir, 'home') };
      const run = startCliInProcess(['run', file, '--server', server.url, '--workers', '4', '--grace', '3600', '--job', 'stopped', '--json'], { env });
      await pollUntil(() => server.stats().inFlight >= 4, 'four hanging requests');
      run.softStop();
      run.hardStop();
      const result = await run.done;
      expect(result.code).toBe(130);
      const summary = JSON.parse(result.stdout) as { sent: number; pending: number; done: number };
      expect(summary.sent).toBe(server.stats().requests);
      expect(summary).toMatchObject({ sent: 4, pending: 40, done: 0 });
      const status = await runCliInProcess(['status', 'stopped'], { env });
      expect(status.stdout).toContain('40 total: 0 done, 0 failed, 40 pending, 0 running');
    } finally {
      await server.close();
    }
  });
});
