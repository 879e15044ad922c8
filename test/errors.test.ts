import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exitCodeHelp } from '../src/cli/program.js';
import { AppError, BackendError, ExitCode, PromptError, ServerError, StoreError, UsageError, errorCodes, toAppError, type ErrorCode } from '../src/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** README's "## Exit codes" section, up to the next "## " heading. */
function exitCodesSection(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Exit codes\n');
  expect(start, 'README.md has no "## Exit codes" section').toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** The cells of each `| a | b | … |` row of the section. */
function tableRows(section: string): string[][] {
  return section
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[-| ]+\|$/.test(line))
    .map((line) => line.slice(1, -1).split('|').map((cell) => cell.trim()));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const codes = Object.keys(errorCodes) as ErrorCode[];

describe('README "Exit codes" agrees with errorCodes and ExitCode', () => {
  const rows = tableRows(exitCodesSection());
  const exitRows = rows.filter((cells) => cells.length === 2 && /^\d+$/.test(cells[0]!));
  const codeRows = rows.filter((cells) => cells.length === 3 && /^`[A-Z_]+`$/.test(cells[0]!));

  it('documents every exit code of ExitCode, and no other', () => {
    expect(exitRows.map((cells) => Number(cells[0])).sort((a, b) => a - b)).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });

  it('and `batch --help` names every one of them too', () => {
    const named = [...exitCodeHelp.matchAll(/(?:^|[ ,:])(\d+) (?=[a-z])/g)].map((match) => Number(match[1])).sort((a, b) => a - b);
    expect(named).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });

  it('lists every error code once, with its exit code and description, and no code the table lacks', () => {
    const documented = codeRows.map(([code, exit, description]) => ({ code: code!.slice(1, -1), exitCode: Number(exit), description }));
    const expected = codes.map((code) => ({ code, exitCode: errorCodes[code].exitCode, description: errorCodes[code].description }));
    expect(documented).toEqual(expected);
  });
});

describe('errorCodes', () => {
  it('maps no code to exit 1 except INTERNAL: exit 1 means a bug in batch', () => {
    expect(codes.filter((code) => errorCodes[code].exitCode === ExitCode.Internal)).toEqual(['INTERNAL']);
  });

  it('maps no code to exit 0 or 4: those are outcomes of a run, not errors', () => {
    expect(codes.filter((code) => errorCodes[code].exitCode === ExitCode.Ok || errorCodes[code].exitCode === ExitCode.PromptsFailed)).toEqual([]);
  });

  it('has a one-line description for every code', () => {
    for (const code of codes) expect(errorCodes[code].description, code).toMatch(/^[^\n|]{10,}$/);
  });

  it('knows every code that src/ constructs an error with', () => {
    const constructed = new Set<string>();
    const pattern = /new (?:AppError|BackendError|ServerError|StoreError|PromptError)\(\s*'([A-Z_]+)'/g;
    for (const file of sourceFiles(path.join(root, 'src'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(pattern)) constructed.add(match[1]!);
    }
    // The scan finds the codes it should: a broken pattern would make this test pass vacuously.
    expect(constructed).toContain('MODEL_NOT_FOUND');
    expect(constructed).toContain('JOB_NOT_FOUND');
    expect([...constructed].filter((code) => !(code in errorCodes))).toEqual([]);
  });
});

describe('AppError takes its exit code from errorCodes', () => {
  it.each(codes)('%s', (code) => {
    expect(new AppError(code, 'm').exitCode).toBe(errorCodes[code].exitCode);
  });

  it('keeps the exit codes scripts rely on', () => {
    expect(new UsageError('m').exitCode).toBe(ExitCode.Usage);
    expect(new PromptError('DUPLICATE_CUSTOM_ID', 'q.jsonl:2', 'm').exitCode).toBe(ExitCode.Usage);
    expect(new StoreError('JOB_LOCKED', 'm').exitCode).toBe(ExitCode.Usage);
    expect(new StoreError('JOB_NOT_FOUND', 'm').exitCode).toBe(ExitCode.Usage);
    expect(new StoreError('STORE_UNAVAILABLE', 'm').exitCode).toBe(ExitCode.Environment);
    expect(new ServerError('MODEL_FILE_NOT_FOUND', 'm').exitCode).toBe(ExitCode.Usage);
    expect(new ServerError('SERVER_CRASHED', 'm').exitCode).toBe(ExitCode.Environment);
    expect(new BackendError('RATE_LIMITED', 'http://a', 'm').exitCode).toBe(ExitCode.Environment);
    expect(new AppError('INTERRUPTED', 'm').exitCode).toBe(ExitCode.Interrupted);
    expect(toAppError(new Error('boom'))).toMatchObject({ code: 'INTERNAL', exitCode: ExitCode.Internal });
  });
});
