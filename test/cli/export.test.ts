import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { writeDemoJob } from './demo-job.js';

let dir: string;
let env: Record<string, string>;
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'batch-cli-export-'));
  env = { BATCH_HOME: path.join(dir, 'home') };
  await writeDemoJob(env.BATCH_HOME!);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('batch export', () => {
  it('refuses a job with prompts not finished, exit 5, writing nothing; --partial writes the finished ones', async () => {
    for (const target of [[], ['--out', 'r.jsonl']]) {
      const refused = await runCliInProcess(['export', 'demo', ...target], { cwd: dir, env });
      expect(refused.code).toBe(5);
      expect(refused.stderr).toMatch(/^batch: error \[EXPORT_INCOMPLETE\]: nothing written: job "demo" \(.*demo\.sqlite\) has 1 prompt\(s\) not finished; `batch resume demo` where it ran finishes it; or pass --partial/);
      expect(refused.stdout).toBe('');
    }
    expect(existsSync(path.join(dir, 'r.jsonl'))).toBe(false);
  });

  it('writes OpenAI batch JSONL to stdout and says how many lines on stderr', async () => {
    const result = await runCliInProcess(['export', 'demo', '--partial'], { env });
    expect(result.code).toBe(0);
    expect(parseJsonl(result.stdout).map((line) => line.custom_id)).toEqual(['one', 'two', 'three']);
    expect(result.stderr).toContain('wrote 3 jsonl lines to stdout');
    expect(result.stderr).toContain('--partial: job "demo"');
  });

  it('writes CSV to an --out file relative to the working folder; --failed keeps only the failures', async () => {
    const result = await runCliInProcess(['export', 'demo', '--out', 'r.csv', '--failed', '--partial'], { cwd: dir, env });
    expect(result.code).toBe(0);
    const rows = readFileSync(path.join(dir, 'r.csv'), 'utf8').trim().split(/\r?\n/);
    expect(rows[0]).toBe('custom_id,status,model,content,error_code,error_message,prompt_tokens,completion_tokens,latency_ms');
    expect(rows.slice(1).map((row) => row.split(',').slice(0, 2).join(','))).toEqual(['two,failed']);
  });

  it('exits 2 on an unknown --format, naming the choices', async () => {
    const result = await runCliInProcess(['export', 'demo', '--format', 'xml'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("argument 'xml' is invalid. Allowed choices are jsonl, csv.");
  });
});

describe('batch export --format csv for spreadsheets', () => {
  it('--bom starts the file with a UTF-8 byte order mark; without it there is none', async () => {
    expect((await runCliInProcess(['export', 'demo', '--out', 'bom.csv', '--bom', '--partial'], { cwd: dir, env })).code).toBe(0);
    expect(readFileSync(path.join(dir, 'bom.csv'), 'utf8').startsWith('\uFEFFcustom_id,status,')).toBe(true);
    const stdout = await runCliInProcess(['export', 'demo', '--format', 'csv', '--bom', '--partial'], { env });
    expect(stdout.stdout.startsWith('\uFEFFcustom_id,')).toBe(true);
    expect((await runCliInProcess(['export', 'demo', '--out', 'plain.csv', '--partial'], { cwd: dir, env })).code).toBe(0);
    expect(readFileSync(path.join(dir, 'plain.csv'), 'utf8').startsWith('custom_id,')).toBe(true);
  });

  it('refuses --bom for JSONL, whose readers would take the mark for part of the first line', async () => {
    const result = await runCliInProcess(['export', 'demo', '--bom'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--bom: a byte order mark is for CSV');
  });
});
