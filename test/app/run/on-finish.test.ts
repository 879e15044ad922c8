import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { pollUntil } from '../../helpers/poll-until.js';
import { runOnFinish, withOnFinish } from '../../../src/app/run/on-finish.js';
import type { OnFinishFacts } from '../../../src/app/run/on-finish-env.js';
import type { RunSummary } from '../../../src/reporting/run-summary.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-on-finish-unit-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const facts: OnFinishFacts = { job: 'j', outcome: 'done', exitCode: 0, output: '/o.jsonl', database: '/d.sqlite', defaultDatabase: '/d.sqlite', counts: { done: 1, failed: 0, pending: 0, total: 1 } };

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

describe('runOnFinish', () => {
  it('kills a command that runs past its bound, the processes it started with it, and says so', async () => {
    const err = capture();
    // The shell's child (sleep) holds stdout open: unless the whole group is killed, close never comes (and the test times out).
    await runOnFinish({ command: 'sleep 30 & sleep 30', facts, env: process.env, keys: { cwd: dir }, stderr: err.stream, timeoutMs: 200 });
    expect(err.text()).toContain(`--on-finish "sleep 30 & sleep 30" ran past 0.2 s and was killed; the run's exit code (0) is unchanged`);
  });

  it('kills the command at a second Ctrl-C', async () => {
    const err = capture();
    const stop = new AbortController();
    const running = runOnFinish({ command: 'echo started; sleep 30', facts, env: process.env, keys: { cwd: dir }, stderr: err.stream, stop: stop.signal });
    await pollUntil(() => err.text().includes('started'), 'the command started');
    stop.abort();
    await running;
    expect(err.text()).toContain('was killed by a second Ctrl-C');
  });
});

describe('withOnFinish', () => {
  it('tells of every server down (servers-down) with the database\'s counts unreadable left empty, and passes the error on', async () => {
    const file = path.join(dir, 'down.env');
    const down = new AppError('ALL_SERVERS_DOWN', 'every server stayed down');
    const run = withOnFinish({ env: process.env, stderr: capture().stream }, async (end) => {
      end.planned = { command: `env > ${file}`, job: 'j', output: '/o.jsonl', database: path.join(dir, 'none.sqlite'), defaultDatabase: '/x', keys: { cwd: dir } };
      end.dispatched = true;
      throw down;
    });
    await expect(run).rejects.toBe(down);
    const env = readFileSync(file, 'utf8');
    expect(env).toContain('BATCH_OUTCOME=servers-down\n');
    expect(env).toContain('BATCH_EXIT_CODE=3\n');
    expect(env).toContain('BATCH_DONE=\n');
  });

  it('runs nothing when the run fails before it sent anything', async () => {
    const file = path.join(dir, 'refused.env');
    const run = withOnFinish({ env: process.env, stderr: capture().stream }, async (end) => {
      end.planned = { command: `env > ${file}`, job: 'j', output: '/o', database: '/d', defaultDatabase: '/d', keys: { cwd: dir } };
      throw new AppError('MODEL_CHANGED', 'changed');
    });
    await expect(run).rejects.toThrow('changed');
    expect(() => readFileSync(file)).toThrow();
  });

  it('passes the summary on unchanged when the command fails', async () => {
    const summary = { exitCode: 4, done: 1, failed: 1, pending: 0, total: 2 } as RunSummary;
    const err = capture();
    const result = await withOnFinish({ env: process.env, stderr: err.stream }, async (end) => {
      end.planned = { command: 'exit 3', job: 'j', output: '/o', database: '/d', defaultDatabase: '/d', keys: { cwd: dir } };
      return summary;
    });
    expect(result).toBe(summary);
    expect(err.text()).toContain('exited with 3; the run\'s exit code (4) is unchanged');
  });
});
