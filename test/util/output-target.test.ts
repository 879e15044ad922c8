import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkFifoReader, openStreamTarget, outputTargetOf, releaseFifoChecks } from '../../src/util/output-target.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-output-target-'));
});
afterEach(() => {
  releaseFifoChecks();
  rmSync(dir, { recursive: true, force: true });
});

describe('outputTargetOf', () => {
  it('replaces a file or a missing path, and the file at the end of a chain of links (even one not there yet)', () => {
    const file = path.join(dir, 'a.jsonl');
    expect(outputTargetOf(file, '--out')).toEqual({ mode: 'replace', file });
    writeFileSync(file, '');
    symlinkSync(file, path.join(dir, 'one'));
    symlinkSync('one', path.join(dir, 'two'));
    expect(outputTargetOf(path.join(dir, 'two'), '--out')).toEqual({ mode: 'replace', file });
    symlinkSync('later.jsonl', path.join(dir, 'dangling'));
    expect(outputTargetOf(path.join(dir, 'dangling'), '--out')).toEqual({ mode: 'replace', file: path.join(dir, 'later.jsonl') });
  });

  it('streams to a character device and to the streams of the process, whatever they are', () => {
    expect(outputTargetOf('/dev/null', '--out')).toMatchObject({ mode: 'stream', kind: 'character device', fifo: false });
    expect(outputTargetOf('/dev/stdout', '--out')).toMatchObject({ mode: 'stream', file: '/dev/stdout', kind: 'stream of this process' });
  });

  it('refuses a folder and a loop of links, naming the flag, the path and what it is', () => {
    expect(() => outputTargetOf(dir, '--html')).toThrow(`--html ${dir} is a folder, not a file`);
    symlinkSync('loop-b', path.join(dir, 'loop-a'));
    symlinkSync('loop-a', path.join(dir, 'loop-b'));
    expect(() => outputTargetOf(path.join(dir, 'loop-a'), '--out')).toThrow(`--out ${path.join(dir, 'loop-a')} is a loop of symbolic links, not a file`);
  });
});

describe('a FIFO', () => {
  it('with no reader is refused at once, without waiting in open()', () => {
    const fifo = path.join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const target = outputTargetOf(fifo, '--out');
    expect(target).toMatchObject({ mode: 'stream', kind: 'FIFO', fifo: true });
    expect(() => checkFifoReader(target, '--out')).toThrow(`--out ${fifo} is a FIFO (named pipe) that nobody reads`);
    expect(() => openStreamTarget(target as Extract<typeof target, { mode: 'stream' }>, '--out')).toThrow('that nobody reads');
  });

  it('with a reader is opened for writing', () => {
    const fifo = path.join(dir, 'out.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, 'r+');
    try {
      const target = outputTargetOf(fifo, '--out') as Extract<ReturnType<typeof outputTargetOf>, { mode: 'stream' }>;
      checkFifoReader(target, '--out');
      closeSync(openStreamTarget(target, '--out'));
    } finally {
      closeSync(reader);
    }
  });
});
