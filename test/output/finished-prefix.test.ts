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
    expect([...prefix.after(2, end)].map((r) => r.idx)).toEqual([3]);
    expect(end.reason).toBe('end');
    expect([...prefix.finishedAfter(-1)].map((r) => r.idx)).toEqual([0, 1, 3]);
  });

  it('reads the finished items past many unfinished ones a page at a time, not once per gap', () => {
    // Every other item unfinished, as a run stopped with most of its prompts pending leaves it.
    const rows = Array.from({ length: 5000 }, (_, i) => row(i, i % 2 === 0 ? 'done' : 'pending'));
    let pages = 0;
    const read = pageOf(rows);
    const prefix = new FinishedPrefix((after, before, limit) => {
      pages++;
      return read(after, before, limit);
    });
    prefix.readingEnded();
    expect([...prefix.finishedAfter(-1)]).toHaveLength(2500);
    // 5000 rows at 500 a page: 10 full pages and one empty one.
    expect(pages).toBe(11);
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

  it('ends the output of a run stopped with most prompts pending by reading the job a page at a time', () => {
    // Every other item pending: a run stopped at a deadline early in a large job.
    const rows = Array.from({ length: 5000 }, (_, i) => row(i, i % 2 === 0 ? 'done' : 'pending'));
    let pages = 0;
    const read = pageOf(rows);
    const file = path.join(dir, 'stopped.jsonl');
    const appender = new OutputAppender((after, before, limit) => {
      pages++;
      return read(after, before, limit);
    }, { path: file, jobName: 'j', intervalMs: 0 });
    appender.readingEnded();
    expect(appender.finish()).toEqual({ complete: true, lines: 2500 });
    // Once a page per gap (5000 pages of 500 rows) made stopping a 100k-prompt night take minutes.
    expect(pages).toBeLessThan(30);
  });
});
