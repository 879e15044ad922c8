import { writePrompts } from '../helpers/write-prompts.js';
import { pollUntil } from '../helpers/poll-until.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLlamaGguf } from '../../src/models/gguf-writer.js';
import { startSimServer } from '../sim/sim-server.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess, startCliInProcess } from '../helpers/run-cli-in-process.js';
import { writeSimLlamaServer } from '../servers/server-fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-resume-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('batch resume after an interrupted run', () => {
  it('a soft stop stops dispatching, aborts after the grace period, exits 130 with the resume command; resume completes', async () => {
    // The first 4 requests hang, so only the grace period can end them.
    const server = await startSimServer({ slots: 4, script: (n) => (n <= 4 ? 'hang' : 'ok') });
    try {
      const file = path.join(dir, 'ctrlc.jsonl');
      writePrompts(file, 40, 'c', () => ({ max_tokens: 4 }));
      const env = { BATCH_HOME: path.join(dir, 'home-ctrlc') };
      const run = startCliInProcess(['run', file, '--server', server.url, '--workers', '4', '--grace', '1', '--job', 'nightly'], { env });
      await pollUntil(() => server.stats().inFlight >= 4, 'four hanging requests');
      run.softStop();
      const result = await run.done;
      expect(result.code).toBe(130);
      expect(result.stdout).toContain('batch resume nightly');
      expect(server.stats().requests).toBe(4);
      const resumed = await runCliInProcess(['resume', '--quiet'], { env });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(server.stats().requests).toBe(44);
      const lines = parseJsonl(readFileSync(path.join(env.BATCH_HOME, 'nightly.output.jsonl'), 'utf8'));
      expect(lines.map((l) => l.custom_id)).toEqual(Array.from({ length: 40 }, (_, i) => `c${i}`));
    } finally {
      await server.close();
    }
  });

  it('a hard stop aborts in-flight prompts at once, whatever the grace period', async () => {
    const server = await startSimServer({ slots: 2, script: (n) => (n <= 2 ? 'hang' : 'ok') });
    try {
      const file = path.join(dir, 'hard.jsonl');
      writePrompts(file, 6, 'h', () => ({ max_tokens: 4 }));
      const env = { BATCH_HOME: path.join(dir, 'home-hard') };
      const run = startCliInProcess(['run', file, '--server', server.url, '--workers', '2', '--grace', '3600', '--job', 'hard'], { env });
      await pollUntil(() => server.stats().inFlight >= 2, 'two hanging requests');
      run.softStop();
      run.hardStop();
      const result = await run.done;
      expect(result.code).toBe(130);
      expect(result.stdout).toContain('batch resume hard');
      const resumed = await runCliInProcess(['resume', 'hard', '--json'], { env });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ done: 6, failed: 0 });
    } finally {
      await server.close();
    }
  });

  it('remembers relative --model, --out and input paths absolute, so resume works from another folder', async () => {
    await writeTinyLlamaGguf(path.join(dir, 'relative.gguf'));
    writePrompts(path.join(dir, 'relative.jsonl'), 6, 'r', () => ({ max_tokens: 4 }));
    const env = { BATCH_HOME: path.join(dir, 'home-relative') };
    // Servers inherit this process's environment, so the simulator's settings travel in a wrapper.
    mkdirSync(path.join(dir, 'slow'));
    const slowServer = writeSimLlamaServer(path.join(dir, 'slow'), { SIM_SERVICE_MS: '300' });
    const run = startCliInProcess(['run', 'relative.jsonl', '--model', 'relative.gguf', '--out', 'relative.out.jsonl', '--llama-server', slowServer, '--slots', '1', '--grace', '0', '--job', 'relative'], { cwd: dir, env });
    await run.waitFor('prompt(s) to send');
    run.softStop();
    expect((await run.done).code).toBe(130);
    const resumed = await runCliInProcess(['resume', 'relative', '--llama-server', writeSimLlamaServer(dir), '--json'], { cwd: os.tmpdir(), env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(parseJsonl(readFileSync(path.join(dir, 'relative.out.jsonl'), 'utf8'))).toHaveLength(6);
  });

  it('exits 2 when there is no job to resume', async () => {
    const result = await runCliInProcess(['resume', 'never-ran'], { env: { BATCH_HOME: path.join(dir, 'home-empty') } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/JOB_NOT_FOUND/);
  });
});
