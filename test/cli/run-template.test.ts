import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { simAnswer, startSimServer, type SimServer } from '../sim/sim-server.js';
import { parseJsonl } from '../helpers/run-cli-process.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';

let dir: string;
let sim: SimServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-template-'));
  sim = await startSimServer({ slots: 8, serviceMs: 1 });
});
afterAll(async () => {
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = (name: string) => ({ BATCH_HOME: path.join(dir, name) });

/** A CSV field as a spreadsheet writes it: quoted when it holds a comma, quote or newline. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

describe('batch run --template --data', () => {
  it('sends every row of a 2,000-row CSV (quoted commas, embedded newlines, a BOM, CRLF) exactly once, the row kept for export', async () => {
    const rows: Array<[string, string, string]> = [];
    for (let i = 0; i < 2000; i++) {
      const title = i % 3 === 0 ? `Title ${i}, with a comma` : i % 3 === 1 ? `Title "${i}" quoted` : `Title ${i}`;
      const body = i % 4 === 0 ? `first line ${i}\r\nsecond line, ${i}` : i % 4 === 1 ? `plain ${i}` : `tab\there ${i}`;
      rows.push([`t${i}`, title, body]);
    }
    // A blank line now and then: csv-parse skips it, and the line numbers must still be right.
    const lines = rows.map((row, i) => row.map(csvField).join(',') + (i % 500 === 250 ? '\r\n' : ''));
    const csv = path.join(dir, 'tickets.csv');
    writeFileSync(csv, `\uFEFFid,title,body\r\n${lines.join('\r\n')}\r\n`);
    const template = path.join(dir, 'ticket.md');
    writeFileSync(template, '---\nsystem: >\n  You triage support tickets.\n  Answer with one word.\nmax_tokens: 8\n---\nTicket: {{title}}\n\n{{ body }}\n');
    const out = path.join(dir, 'tickets.out.jsonl');
    const before = sim.stats().requests;

    const db = path.join(dir, 'tickets.sqlite');
    const result = await runCliInProcess(['run', '--template', template, '--data', csv, '--id-column', 'id', '--server', sim.url, '--out', out, '--db', db, '--quiet'], { env: env('csv') });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const output = parseJsonl(readFileSync(out, 'utf8'));
    expect(output).toHaveLength(2000);
    const byId = new Map(output.map((line) => [line.custom_id as string, line]));
    expect(byId.size).toBe(2000);
    for (const [id, title, body] of rows) {
      const prompt = `Ticket: ${title}\n\n${body}`;
      expect(byId.get(id)?.response.body.choices[0].message.content).toBe(simAnswer(prompt));
    }
    const stats = sim.stats();
    expect(stats.requests - before).toBe(2000);
    for (const [, title, body] of rows) expect(stats.byPrompt[`Ticket: ${title}\n\n${body}`]).toBe(1);

    // The row as parsed, with the line it starts on, for `batch export` to put beside the answer.
    const sqlite = new Database(db, { readonly: true });
    try {
      const stored = sqlite.prepare('SELECT custom_id, row_data FROM items ORDER BY idx').all() as Array<{ custom_id: string; row_data: string }>;
      expect(stored).toHaveLength(2000);
      let line = 2;
      for (const [i, { custom_id, row_data }] of stored.entries()) {
        expect(custom_id).toBe(rows[i]![0]);
        expect(JSON.parse(row_data)).toEqual({ source: path.normalize(csv), line, columns: ['id', 'title', 'body'], values: rows[i] });
        line += 1 + (rows[i]![2].match(/\n/g)?.length ?? 0) + (i % 500 === 250 ? 1 : 0);
      }
    } finally {
      sqlite.close();
    }
  });

  it('fails only the rows that lack a column or have the wrong number of fields (exit 4), and resume reads the template again', async () => {
    const csv = path.join(dir, 'mixed.csv');
    writeFileSync(csv, 'id,title\n1,one\n2,two,extra\n3,three\n');
    const jsonl = path.join(dir, 'mixed.jsonl');
    writeFileSync(jsonl, '{"id": "j1", "title": "four"}\n{"id": "j2", "name": "five"}\n');
    const template = path.join(dir, 'mixed.md');
    writeFileSync(template, 'About {{title}}');
    const out = path.join(dir, 'mixed.out.jsonl');
    const args = ['run', '--template', template, '--data', csv, '--data', jsonl, '--server', sim.url, '--out', out, '--job', 'mixed'];
    const first = await runCliInProcess(args, { env: env('mixed') });
    expect(first.code).toBe(4);
    expect(first.stderr).toContain(`skipped: ${csv}:3: expected 2 field(s) like the header (id, title), got 3`);
    expect(first.stderr).toContain(`skipped: ${jsonl}:2: no column "title" (columns: id, name)`);
    const failed = parseJsonl(readFileSync(out, 'utf8')).filter((line) => line.error !== null).map((line) => line.custom_id);
    expect(failed.sort()).toEqual([`${path.normalize(csv)}:3`, `${path.normalize(jsonl)}:2`].sort());

    // Fixed rows run on `batch resume --retry-failed`, which reads the remembered template and data.
    writeFileSync(jsonl, '{"id": "j1", "title": "four"}\n{"id": "j2", "title": "five"}\n');
    writeFileSync(csv, 'id,title\n1,one\n2,two\n3,three\n');
    const resumed = await runCliInProcess(['resume', 'mixed', '--retry-failed'], { env: env('mixed') });
    expect(resumed.stderr).toContain('2 prompt(s) changed since the job started and will be sent again');
    expect(resumed.code).toBe(0);
    const answers = parseJsonl(readFileSync(out, 'utf8'));
    expect(answers).toHaveLength(5);
    expect(answers.every((line) => line.error === null)).toBe(true);

    // The same job with other data is refused, as for other inputs.
    const other = path.join(dir, 'other.csv');
    writeFileSync(other, 'title\nx\n');
    const changed = await runCliInProcess(['run', '--template', template, '--data', other, '--server', sim.url, '--job', 'mixed'], { env: env('mixed') });
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/JOB_INPUTS_CHANGED/);

    // No output lands on the template or a data file: not --metrics, not an export.
    const data = readFileSync(csv, 'utf8');
    const metrics = await runCliInProcess(['run', '--template', template, '--data', csv, '--data', jsonl, '--server', sim.url, '--job', 'mixed-metrics', '--metrics', csv], { env: env('mixed') });
    expect(metrics.code).toBe(2);
    expect(metrics.stderr).toContain(`--metrics ${csv} is the --data file`);
    const exported = await runCliInProcess(['export', 'mixed', '--out', template], { env: env('mixed') });
    expect(exported.code).toBe(2);
    expect(readFileSync(csv, 'utf8')).toBe(data);
    expect(readFileSync(template, 'utf8')).toBe('About {{title}}');
  });

  it('refuses before sending anything (exit 2, no job left) a placeholder no data file has, an empty CSV, half a template run', async () => {
    const template = path.join(dir, 'refuse.md');
    writeFileSync(template, 'Hi {{name}}\nAbout {{topic}}\n');
    const csv = path.join(dir, 'refuse.csv');
    writeFileSync(csv, 'name,subject\nAnn,x\n');
    const before = sim.stats().requests;
    const missing = await runCliInProcess(['run', '--template', template, '--data', csv, '--server', sim.url], { env: env('refuse') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${path.normalize(template)}:2: no column "topic" for {{topic}} in any --data file (columns of ${path.normalize(csv)}: name, subject)`);
    const empty = path.join(dir, 'empty.csv');
    writeFileSync(empty, '');
    const emptyRun = await runCliInProcess(['run', '--template', template, '--data', empty, '--server', sim.url], { env: env('refuse') });
    expect(emptyRun.code).toBe(2);
    expect(emptyRun.stderr).toContain(`${path.normalize(empty)}: expected a header line naming the columns`);
    const half = await runCliInProcess(['run', '--template', template, '--server', sim.url], { env: env('refuse') });
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('needs the rows to fill it with: pass --data');
    const ragged = path.join(dir, 'ragged.csv');
    writeFileSync(ragged, 'name,topic\nAnn\nBo,x,y\n');
    const raggedRun = await runCliInProcess(['run', '--template', template, '--data', ragged, '--server', sim.url, '--job', 'ragged', '--quiet'], { env: env('refuse') });
    expect(raggedRun.code).toBe(2);
    expect(raggedRun.stderr).toContain(`nothing to send: all 2 prompt(s) read are invalid, the first: ${path.normalize(ragged)}:2: expected 2 field(s) like the header (name, topic), got 1`);
    expect(sim.stats().requests).toBe(before);
    const jobs = await runCliInProcess(['jobs', '--json'], { env: env('refuse') });
    expect(jobs.stdout.trim() === '' ? [] : JSON.parse(jobs.stdout)).toEqual([]);
  });
});
