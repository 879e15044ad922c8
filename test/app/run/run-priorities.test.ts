import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseJsonl } from '../../helpers/run-cli-process.js';
import { pollUntil } from '../../helpers/poll-until.js';
import { runCliInProcess, startCliInProcess } from '../../helpers/run-cli-in-process.js';
import { startSimServer, type SimServer } from '../../sim/sim-server.js';

let dir: string;
let sim: SimServer;
/** The prompts in the order the server received them (one slot, one worker: one at a time). */
let arrivals: string[] = [];
/** Whether each request's body named a `priority`. */
let sentPriority: boolean[] = [];
/** While set, every request hangs and is not counted. */
let hold = false;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-priorities-'));
  sim = await startSimServer({ flavour: 'openai', models: ['a', 'b'], slots: 1, script: (_n, request) => {
    if (hold) return 'hang';
    arrivals.push(request.promptText);
    sentPriority.push('priority' in request.body);
    return undefined;
  } });
});
beforeEach(() => {
  arrivals = [];
  sentPriority = [];
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const simple = (id: string, model: string, priority?: unknown): string => JSON.stringify({ id, prompt: id, model, ...(priority === undefined ? {} : { priority }) });

/** Two models' prompts with priorities in every form: JSONL fields, an OpenAI batch line, front matter, a file default, a template column. */
function writeInputs(folder: string): string[] {
  mkdirSync(folder, { recursive: true });
  const batchLine = JSON.stringify({ custom_id: 'b2', method: 'POST', url: '/v1/chat/completions', priority: 5, body: { model: 'b', messages: [{ role: 'user', content: 'b2' }] } });
  writeFileSync(path.join(folder, 'main.jsonl'), [simple('a1', 'a'), simple('b1', 'b', 2), simple('a2', 'a', 1), batchLine].join('\n') + '\n');
  writeFileSync(path.join(folder, 'low.jsonl'), [simple('b3', 'b'), simple('a4', 'a', 3)].join('\n') + '\n');
  writeFileSync(path.join(folder, 'q.md'), '---\nmodel: a\npriority: 4\n---\na5\n');
  writeFileSync(path.join(folder, 't.md'), '---\nmodel: b\n---\nrow {{name}}\n');
  writeFileSync(path.join(folder, 'rows.csv'), 'name,prio\nr1,1\nr2,\nr3,7\n');
  return ['main.jsonl', 'low.jsonl', 'q.md', '--template', 't.md', '--data', 'rows.csv', '--priority-column', 'prio', '--priority', 'low.jsonl=-1'];
}

/** b waits with 7 (r3), a with 4 (q.md): b first; inside each, priority then input order. */
const expectedOrder = ['row r3', 'b2', 'b1', 'row r1', 'row r2', 'b3', 'a5', 'a4', 'a2', 'a1'];
const inputOrder = ['a1', 'b1', 'a2', 'b2', 'b3', 'a4', 'q.md', 'rows.csv:2', 'rows.csv:3', 'rows.csv:4'];

describe('priorities', () => {
  it('sends models by their highest priority and each model’s prompts by priority, then input order; the output stays in input order', async () => {
    const cwd = path.join(dir, 'order');
    const args = writeInputs(cwd);
    const env = { BATCH_HOME: path.join(cwd, 'home') };
    // A first run starts sending once its reader has waited 200 ms in all, which a loaded machine
    // may reach before these files are read (priorities then order what was read: README). So the
    // job is read by a run stopped at its first request, and the order is the resumed run's: all
    // prompts, nothing answered, read whole from the job database.
    hold = true;
    const first = startCliInProcess(['run', ...args, '--server', sim.url, '--workers', '1', '--grace', '0', '--job', 'order', '-q'], { cwd, env });
    await pollUntil(() => sim.stats().inFlight >= 1, 'the first request');
    first.softStop();
    expect((await first.done).code).toBe(130);
    hold = false;
    const run = await runCliInProcess(['resume', 'order', '--workers', '1', '-q'], { cwd, env });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(arrivals).toEqual(expectedOrder);
    const output = parseJsonl(readFileSync(path.join(env.BATCH_HOME, 'order.output.jsonl'), 'utf8'));
    expect(output.map((line) => line.custom_id)).toEqual(inputOrder);
    // Not sent: `priority` orders the sending (a batch line's top-level one too).
    expect(sentPriority).toEqual(expectedOrder.map(() => false));
  });

  it('a priority that is not a number fails its own line with PROMPT_INVALID naming file:line; the others are sent', async () => {
    const cwd = path.join(dir, 'bad-values');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(path.join(cwd, 'in.jsonl'), [simple('x1', 'a', 'high'), simple('x2', 'a', 1), JSON.stringify({ custom_id: 'x3', method: 'POST', url: '/v1/chat/completions', priority: null, body: { model: 'a', messages: [{ role: 'user', content: 'x3' }] } })].join('\n') + '\n');
    writeFileSync(path.join(cwd, 'soon.md'), '---\nmodel: a\npriority: soon\n---\nx4\n');
    writeFileSync(path.join(cwd, 't.md'), '---\nmodel: a\n---\n{{name}}\n');
    writeFileSync(path.join(cwd, 'rows.csv'), 'name,prio\nx5,urgent\nx6,2\n');
    const env = { BATCH_HOME: path.join(cwd, 'home') };
    const run = await runCliInProcess(['run', 'in.jsonl', 'soon.md', '--template', 't.md', '--data', 'rows.csv', '--priority-column', 'prio', '--server', sim.url, '--workers', '1', '--job', 'bad', '-q'], { cwd, env });
    expect(run.code).toBe(4);
    expect([...arrivals].sort()).toEqual(['x2', 'x6']);
    const failed = parseJsonl(readFileSync(path.join(env.BATCH_HOME, 'bad.output.jsonl'), 'utf8')).filter((line) => line.error !== null);
    // Inputs are named absolute (as the job remembers them); --data files as given.
    expect(failed.map((line) => [line.error.code, String(line.error.message).replace(`${cwd}/`, '')])).toEqual([
      ['PROMPT_INVALID', 'in.jsonl:1: expected `priority` to be a number (higher is sent first, default 0), got "high"'],
      ['PROMPT_INVALID', 'in.jsonl:3: expected `priority` to be a number (higher is sent first, default 0), got null'],
      ['PROMPT_INVALID', 'soon.md:3: expected `priority` to be a number (higher is sent first, default 0), got "soon"'],
      ['PROMPT_INVALID', 'rows.csv:2: expected column "prio" (--priority-column) to hold a number (higher is sent first), got "urgent"; fix the field or leave it empty for the default'],
    ]);
  });

  it('refuses a bad --priority or --priority-column before anything is sent', async () => {
    const cwd = path.join(dir, 'bad-flags');
    const args = writeInputs(cwd);
    const env = { BATCH_HOME: path.join(cwd, 'home') };
    const before = sim.stats().requests;
    const cases: Array<[string[], RegExp]> = [
      [['main.jsonl', '--priority', 'main.jsonl=soon'], /--priority main\.jsonl=soon: expected FILE=N/],
      [['main.jsonl', '--priority', 'main.jsonl'], /--priority main\.jsonl: expected FILE=N/],
      [['main.jsonl', '--priority', 'other.jsonl=2'], /other\.jsonl is not an input or --data file of this run/],
      [['main.jsonl', '--priority-column', 'prio'], /--priority-column names a column of --data rows/],
      [[...args.slice(0, 8), 'nosuch'], /--priority-column "nosuch" is a column of no --data file/],
    ];
    for (const [given, message] of cases) {
      const run = await runCliInProcess(['run', ...given, '--server', sim.url, '--job', 'flags', '-q'], { cwd, env });
      expect(run.code, given.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    expect(sim.stats().requests).toBe(before);
  });
});
