import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FinishedPrefix, type PositionedRow, type PrefixEnd, type ReadOutputPage } from '../../src/output/finished-prefix.js';
import { OutputAppender } from '../../src/output/output-appender.js';

/** A job held in an array instead of a database: what the output formats need, and no more. */
function pageOf(rows: PositionedRow[]): ReadOutputPage {
  return (after, before, limit) => rows.filter((row) => row.idx > after && row.idx < before).slice(0, limit);
}

const row = (idx: number, status: string): PositionedRow => ({ idx, customId: `p${idx}`, status, response: null, errorCode: null, errorMessage: null, answer: null });

describe('FinishedPrefix', () => {
  it('walks finished items in input order up to the first unfinished one, and only where positions are final', () => {
    const rows = [row(0, 'done'), row(1, 'failed'), row(2, 'running'), row(3, 'done')];
    const prefix = new FinishedPrefix(pageOf(rows));
    const end = { reason: 'end' as PrefixEnd };
    // Nothing is known yet: the reading under way may still put an item anywhere.
    expect([...prefix.after(-1, end)]).toEqual([]);
    expect(end.reason).toBe('unknown');
    prefix.knownBefore(2);
    expect([...prefix.after(-1, end)].map((r) => r.idx)).toEqual([0, 1]);
    expect(end.reason).toBe('unknown');
    prefix.readingEnded();
    expect([...prefix.after(-1, end)].map((r) => r.idx)).toEqual([0, 1]);
    expect(end.reason).toBe('unfinished');
    expect(prefix.nextPosition(1)).toBe(2);
    expect([...prefix.after(2, end)].map((r) => r.idx)).toEqual([3]);
    expect(end.reason).toBe('end');
    expect(prefix.nextPosition(3)).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('OutputAppender without a database', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'batch-prefix-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('grows the file from the rows a page reader gives it, and completes it at finish', () => {
    const rows = [row(0, 'done'), row(1, 'pending'), row(2, 'failed')];
    const file = path.join(dir, 'out.jsonl');
    const appender = new OutputAppender(pageOf(rows), { path: file, jobName: 'j', intervalMs: 0 });
    appender.knownBefore(3);
    appender.advance();
    expect(readFileSync(file, 'utf8').split('\n').slice(0, -1).map((line) => JSON.parse(line).custom_id)).toEqual(['p0']);
    rows[1] = row(1, 'done');
    appender.readingEnded();
    expect(appender.finish()).toEqual({ complete: true, lines: 3 });
    const lines = readFileSync(file, 'utf8').split('\n').slice(0, -1).map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.custom_id, line.error?.code ?? null])).toEqual([['p0', null], ['p1', null], ['p2', 'INTERNAL']]);
  });
});
