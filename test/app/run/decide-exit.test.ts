import { describe, expect, it } from 'vitest';
import { decideExit, type ExitDecision, type ExitFacts } from '../../../src/app/run/decide-exit.js';

const clean: ExitFacts = { storeFailed: false, serversDown: false, interrupted: false, failed: 0, pending: 0 };

/** [case, facts over a clean run, exit code, job state, resume command]. */
const cases: ReadonlyArray<readonly [string, Partial<ExitFacts>, number, ExitDecision['jobState'], ExitDecision['resume']]> = [
  ['everything answered', {}, 0, 'done', undefined],
  ['failed prompts, nothing left', { failed: 2 }, 4, 'failed', 'retry-failed'],
  ['prompts left without a stop (a shard, max-down not reached)', { pending: 3 }, 4, 'interrupted', 'continue'],
  ['failed and left', { failed: 1, pending: 1 }, 4, 'interrupted', 'continue'],
  ['interrupted with prompts left', { interrupted: true, pending: 5 }, 130, 'interrupted', 'continue'],
  ['interrupted after the last answer', { interrupted: true }, 130, 'interrupted', 'continue'],
  ['interrupted with failures only', { interrupted: true, failed: 2 }, 130, 'interrupted', 'continue'],
  ['the store failed', { storeFailed: true, pending: 2 }, 3, 'interrupted', 'continue'],
  ['the store failed after the last answer', { storeFailed: true }, 3, 'interrupted', undefined],
  ['every server down past --max-down', { serversDown: true, pending: 9 }, 3, 'interrupted', 'continue'],
  ['a store failure outranks an interruption', { storeFailed: true, interrupted: true, failed: 1 }, 3, 'interrupted', 'continue'],
  ['the deadline left prompts to send', { deadlineReached: true, pending: 7 }, 6, 'interrupted', 'continue'],
  ['the deadline left prompts and failures', { deadlineReached: true, pending: 7, failed: 2 }, 6, 'interrupted', 'continue'],
  ['the deadline left inputs unread (the run decides deadlineReached)', { deadlineReached: true }, 6, 'interrupted', 'continue'],
  ['a Ctrl-C outranks the deadline', { interrupted: true, deadlineReached: true, pending: 3 }, 130, 'interrupted', 'continue'],
  ['a store failure outranks the deadline', { storeFailed: true, deadlineReached: true, pending: 3 }, 3, 'interrupted', 'continue'],
  ['servers down outrank failed prompts', { serversDown: true, failed: 4 }, 3, 'interrupted', 'retry-failed'],
];

describe('decideExit', () => {
  it.each(cases)('%s', (_name, facts, exitCode, jobState, resume) => {
    expect(decideExit({ ...clean, ...facts })).toEqual({ exitCode, jobState, resume });
  });
});
