import { describe, expect, it } from 'vitest';
import { checkExportComplete, readsStdin, type ExportPart } from '../../../src/app/job/check-export-complete.js';

const counts = (pending: number, running = 0) => ({ pending, running, done: 3, failed: 1, total: 4 + pending + running });
const part = (extra: Partial<ExportPart> = {}): ExportPart => ({ label: 'job "j" (j.sqlite)', job: 'j', counts: counts(0), inputsRead: true, readsStdin: false, ...extra });

describe('checkExportComplete: an export that would lack prompts is refused before a line is written', () => {
  it('passes a finished job (failed prompts are finished), refuses one with prompts pending or in flight, or inputs not all read', () => {
    expect(checkExportComplete([part()], false)).toEqual([]);
    expect(() => checkExportComplete([part({ counts: counts(2, 1) })], false)).toThrow(/^nothing written: job "j" \(j\.sqlite\) has 3 prompt\(s\) not finished; `batch resume j` where it ran finishes it; or pass --partial/);
    expect(() => checkExportComplete([part({ inputsRead: false })], false)).toThrow(expect.objectContaining({ code: 'EXPORT_INCOMPLETE', exitCode: 5 }));
    expect(() => checkExportComplete([part({ inputsRead: false })], false)).toThrow(/has not read all of its inputs; `batch resume j`/);
  });

  it('a job that stopped reading standard input is told apart: no resume can read the rest', () => {
    expect(() => checkExportComplete([part({ inputsRead: false, readsStdin: true })], false)).toThrow(/has stopped reading standard input before its end; the rest of that input can only be sent with `batch run - --job j`/);
    expect(readsStdin({ inputs: ['-'] })).toBe(true);
    expect(readsStdin({ inputs: ['/a.jsonl'] })).toBe(false);
    expect(readsStdin({})).toBe(false);
  });

  it('with --partial, returns the lines to warn with instead of refusing', () => {
    expect(checkExportComplete([part({ counts: counts(2) }), part({ label: 'shard 2/2 (b.sqlite)', job: 'j.shard-2-of-2' })], true)).toEqual([
      'job "j" (j.sqlite) has 2 prompt(s) not finished; `batch resume j` where it ran finishes it',
    ]);
  });
});
