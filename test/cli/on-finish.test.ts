import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../helpers/poll-until.js';
import { runCliInProcess, startCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-on-finish-'));
  sim = await startSimServer({ slots: 2, serviceMs: 20 });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The environment `env > FILE` wrote, as a record. */
function readEnv(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** Keys the runs have in their environment; none may reach the command. */
const keys = { OPENAI_API_KEY: 'sk-openai-secret', MY_SERVER_TOKEN: 'tok-secret', OTHER_APIKEY: 'other-secret', WEBHOOK_URL: 'http://127.0.0.1:9/hook' };

function expectNoKey(env: Record<string, string>): void {
  expect(env['OPENAI_API_KEY']).toBeUndefined();
  expect(env['MY_SERVER_TOKEN']).toBeUndefined();
  expect(env['OTHER_APIKEY']).toBeUndefined();
  expect(JSON.stringify(env)).not.toMatch(/secret/);
}

describe('batch run --on-finish', () => {
  it('runs the command when the run is done, with the facts in its environment and no API key', async () => {
    const input = path.join(dir, 'done.jsonl');
    writePrompts(input, 6, 'd');
    const home = path.join(dir, 'home-done');
    const file = path.join(dir, 'done.env');
    const result = await runCliInProcess(['run', input, '--server', sim.url, '--job', 'night', '--api-key-env', 'MY_SERVER_TOKEN', '--on-finish', `env > ${file}`], { env: { BATCH_HOME: home, ...keys } });
    expect(result.code).toBe(0);
    const env = readEnv(file);
    expect(env).toMatchObject({
      BATCH_JOB: 'night',
      BATCH_OUTCOME: 'done',
      BATCH_EXIT_CODE: '0',
      BATCH_DONE: '6',
      BATCH_FAILED: '0',
      BATCH_PENDING: '0',
      BATCH_TOTAL: '6',
      BATCH_DATABASE: path.join(home, 'night.sqlite'),
      BATCH_OUTPUT: path.join(home, 'night.output.jsonl'),
      BATCH_REPORT_COMMAND: 'batch report night --html night.html',
      // A variable the user exported for the command, such as a webhook URL, is passed on.
      WEBHOOK_URL: keys.WEBHOOK_URL,
    });
    expect(env['PATH']).toBe(process.env['PATH']);
    expectNoKey(env);
    // The command's output goes to stderr: stdout keeps the summary alone.
    expect(result.stdout).not.toContain('BATCH_JOB');
  });

  it('tells of failed prompts (exit 4), names a database given with --db in the report command, and keeps a --servers key out', async () => {
    const input = path.join(dir, 'failed.jsonl');
    // The simulated server serves model "default" only: "nosuch" is answered 404, a permanent failure.
    writePrompts(input, 5, 'f', (i) => (i < 2 ? { model: 'nosuch' } : {}));
    const db = path.join(dir, 'elsewhere', 'failed.sqlite');
    const file = path.join(dir, 'failed.env');
    // The key variable named by a --servers file is a key too.
    const servers = path.join(dir, 'servers.json');
    writeFileSync(servers, JSON.stringify([{ url: sim.url, apiKeyEnv: 'MY_SERVER_TOKEN' }]));
    const result = await runCliInProcess(['run', input, '--servers', servers, '--job', 'failing', '--db', db, '--on-finish', `env > ${file}`], { env: { BATCH_HOME: path.join(dir, 'home-failed'), ...keys } });
    expect(result.code).toBe(4);
    expect(readEnv(file)).toMatchObject({ BATCH_OUTCOME: 'failed', BATCH_EXIT_CODE: '4', BATCH_DONE: '3', BATCH_FAILED: '2', BATCH_PENDING: '0', BATCH_TOTAL: '5', BATCH_DATABASE: db, BATCH_REPORT_COMMAND: `batch report failing --db ${db} --html failing.html` });
    expectNoKey(readEnv(file));
  });

  it('tells of an interrupted run (130); the job remembers the command, so `batch resume` runs it again', async () => {
    const slow = await startSimServer({ slots: 1, serviceMs: 50 });
    try {
      const input = path.join(dir, 'stop.jsonl');
      writePrompts(input, 20, 's');
      const home = path.join(dir, 'home-stop');
      const file = path.join(dir, 'stop.env');
      const run = startCliInProcess(['run', input, '--server', slow.url, '--job', 'stopped', '--workers', '1', '--on-finish', `env > ${file}`], { env: { BATCH_HOME: home, ...keys } });
      await pollUntil(() => slow.stats().completed >= 2, 'two answers');
      run.softStop();
      expect((await run.done).code).toBe(130);
      const env = readEnv(file);
      expect(env).toMatchObject({ BATCH_OUTCOME: 'interrupted', BATCH_EXIT_CODE: '130', BATCH_TOTAL: '20' });
      expect(Number(env['BATCH_PENDING'])).toBeGreaterThan(0);
      expect(Number(env['BATCH_DONE']) + Number(env['BATCH_PENDING'])).toBe(20);
      rmSync(file);
      const resumed = await runCliInProcess(['resume', 'stopped', '--workers', '4'], { env: { BATCH_HOME: home, ...keys } });
      expect(resumed.code).toBe(0);
      expect(readEnv(file)).toMatchObject({ BATCH_OUTCOME: 'done', BATCH_DONE: '20', BATCH_PENDING: '0' });
    } finally {
      await slow.close();
    }
  });

  it('reports a failing command on stderr and keeps the run\'s exit code; a command not found too', async () => {
    // Its own input: tests may run in any order (--sequence.shuffle).
    const input = path.join(dir, 'failing-command.jsonl');
    writePrompts(input, 6, 'f');
    const failing = await runCliInProcess(['run', input, '--server', sim.url, '--job', 'cmd-fails', '--on-finish', 'echo from the hook; exit 7'], { env: { BATCH_HOME: path.join(dir, 'home-cmd') } });
    expect(failing.code).toBe(0);
    expect(failing.stderr).toContain('from the hook');
    expect(failing.stderr).toContain(`batch: --on-finish "echo from the hook; exit 7" exited with 7; the run's exit code (0) is unchanged`);
    const missing = await runCliInProcess(['run', input, '--server', sim.url, '--job', 'cmd-missing', '--on-finish', 'no-such-command-xyz'], { env: { BATCH_HOME: path.join(dir, 'home-cmd') } });
    expect(missing.code).toBe(0);
    expect(missing.stderr).toContain('exited with 127: command not found');
  });

  it('runs nothing for a run refused before it sent anything', async () => {
    const file = path.join(dir, 'refused.env');
    const refused = await runCliInProcess(['run', path.join(dir, 'missing.jsonl'), '--server', sim.url, '--on-finish', `env > ${file}`], { env: { BATCH_HOME: path.join(dir, 'home-refused') } });
    expect(refused.code).toBe(2);
    expect(existsSync(file)).toBe(false);
  });
});
