import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PromptError } from '../../src/errors.js';
import type { PromptRecord } from '../../src/prompts/prompt-item.js';
import { readPrompts, type TemplateInputs } from '../../src/prompts/read-prompts.js';
import { collect, makeTempDir, summarize, type TempDir } from './temp-dir.js';

let tmp: TempDir;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => {
  tmp.remove();
});

function templateOf(template: string, data: string[], idColumn?: string): TemplateInputs {
  return {
    template: { filePath: tmp.write('prompt.md', template), display: 'prompt.md' },
    data: data.map((name) => ({ filePath: `${tmp.dir}/${name}`, display: name })),
    ...(idColumn === undefined ? {} : { idColumn }),
  };
}

const read = (template: TemplateInputs): Promise<PromptRecord[]> => collect(readPrompts([], { cwd: tmp.dir, template }));

function userText(record: PromptRecord): string {
  if (!record.ok) throw new Error(record.invalid.message);
  const messages = record.item.body.messages as Array<{ role: string; content: string }>;
  return messages[messages.length - 1]!.content;
}

async function refusal(promise: Promise<unknown>): Promise<PromptError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PromptError);
  return error as PromptError;
}

describe('readTemplateRows', () => {
  it('fills placeholders from each CSV row (quoted commas, newlines, quotes, BOM, CRLF) with file:line ids and the row stored', async () => {
    tmp.write('rows.csv', '\uFEFFid,title,body\r\n1,"Hello, world","line one\r\nline two"\r\n\r\n2,Plain,"say ""hi"""\r\n3,é,x');
    const records = await read(templateOf('---\nsystem: |\n  Classify {{ title }}.\ntemperature: 0\n---\nTitle: {{title}}\nBody: {{body}}\n', ['rows.csv']));
    expect(summarize(records)).toEqual(['rows.csv:2', 'rows.csv:5', 'rows.csv:6']);
    expect(records.map(userText)).toEqual(['Title: Hello, world\nBody: line one\r\nline two', 'Title: Plain\nBody: say "hi"', 'Title: é\nBody: x']);
    const first = records[0] as Extract<PromptRecord, { ok: true }>;
    expect(first.item.body).toEqual({
      messages: [
        { role: 'system', content: 'Classify Hello, world.\n' },
        { role: 'user', content: 'Title: Hello, world\nBody: line one\r\nline two' },
      ],
      temperature: 0,
    });
    expect(first.item.source).toBe('rows.csv:2');
    expect(first.item.rowData).toEqual({ source: 'rows.csv', line: 2, columns: ['id', 'title', 'body'], values: ['1', 'Hello, world', 'line one\r\nline two'] });
  });

  it('takes custom_ids from --id-column and reads TSV and JSONL, several files in order', async () => {
    tmp.write('a.tsv', 'id\tname\nx1\t"tab\there"\n');
    tmp.write('b.jsonl', '{"id": "y1", "name": "Ann", "n": 3}\n\n{"id": "y2", "name": {"first": "Bo"}}\n');
    const records = await read(templateOf('Hi {{name}}', ['a.tsv', 'b.jsonl'], 'id'));
    expect(summarize(records)).toEqual(['x1', 'y1', 'y2']);
    expect(records.map(userText)).toEqual(['Hi tab\there', 'Hi Ann', 'Hi {"first":"Bo"}']);
    expect((records[1] as Extract<PromptRecord, { ok: true }>).item.rowData).toEqual({ source: 'b.jsonl', line: 1, columns: ['id', 'name', 'n'], values: ['y1', 'Ann', '3'] });
    expect((records[2] as Extract<PromptRecord, { ok: true }>).item.source).toBe('b.jsonl:3');
  });

  it('fails only the rows that lack a column or have another number of fields', async () => {
    tmp.write('rows.csv', 'id,title\n1,a\n2,b,extra\n3\n4,d\n');
    tmp.write('more.jsonl', '{"title": "t"}\n{"other": 1}\n[1]\n');
    const records = await read(templateOf('T: {{title}}', ['rows.csv', 'more.jsonl']));
    expect(summarize(records)).toEqual([
      'rows.csv:2',
      '!rows.csv:3: expected 2 field(s) like the header (id, title), got 3; quote a field that holds a comma',
      '!rows.csv:4: expected 2 field(s) like the header (id, title), got 1; quote a field that holds a comma',
      'rows.csv:5',
      'more.jsonl:1',
      '!more.jsonl:2: no column "title" (columns: other)',
      '!more.jsonl:3: expected a JSON object (one row, its keys the columns), got an array',
    ]);
    const ragged = records[1] as Extract<PromptRecord, { ok: false }>;
    expect(ragged.invalid.rowData).toEqual({ source: 'rows.csv', line: 3, columns: ['id', 'title'], values: ['2', 'b', 'extra'] });
  });

  it('ends a file at a quoting error it cannot recover from, as one failed row', async () => {
    tmp.write('rows.csv', 'id,title\n1,a\n2,"open\n3,c\n');
    const records = await read(templateOf('T: {{title}}', ['rows.csv']));
    expect(records).toHaveLength(2);
    expect(summarize(records)[1]).toMatch(/^!rows\.csv:3: .*Quote Not Closed.*check the quoting/);
  });

  it('keeps every good row before an unclosed quote, however slowly they are taken, and names the line the bad row starts on', async () => {
    const good = Array.from({ length: 50 }, (_, i) => `${i + 1},row ${i + 1}\n`).join('');
    tmp.write('rows.csv', `id,title\n${good}51,"open\n52,c\n`);
    const records: PromptRecord[] = [];
    // A consumer that does work between rows (as the dry run counts tokens): the parser reaches
    // the bad quote at the end of the file long before the rows ahead of it are taken.
    for await (const record of readPrompts([], { cwd: tmp.dir, template: templateOf('T: {{title}}', ['rows.csv']) })) {
      records.push(record);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(records.filter((record) => record.ok)).toHaveLength(50);
    expect(records).toHaveLength(51);
    expect(summarize(records)[50]).toMatch(/^!rows\.csv:52: .*Quote Not Closed.*check the quoting/);
  });

  it('names the line a bad row starts on past blank lines and a quoted newline before it', async () => {
    tmp.write('rows.csv', 'id,title\n1,"two\nlines"\n\n\n2,b\n\n3,"open\n4,d\n');
    const records = await read(templateOf('T: {{title}}', ['rows.csv']));
    expect(summarize(records).slice(0, 2)).toEqual(['rows.csv:2', 'rows.csv:6']);
    expect(summarize(records)[2]).toMatch(/^!rows\.csv:8: .*Quote Not Closed/);
  });

  it('refuses, before any prompt, a placeholder that is a column of no data file, naming the template line', async () => {
    tmp.write('rows.csv', 'id,name\n1,a\n');
    const error = await refusal(read(templateOf('---\ntemperature: 0\n---\n\nHello {{name}}\nAbout {{title}}', ['rows.csv'])));
    expect(error.code).toBe('PROMPT_FILE_INVALID');
    expect(error.message).toBe('prompt.md:6: no column "title" for {{title}} in any --data file (columns of rows.csv: id, name); rename the placeholder or the column');
  });

  it('refuses an empty data file, an unknown --id-column, a repeated header name and an unknown extension', async () => {
    tmp.write('empty.csv', '');
    expect((await refusal(read(templateOf('{{a}}', ['empty.csv'])))).message).toMatch(/^empty\.csv: expected a header line naming the columns/);
    tmp.write('rows.csv', 'a,b\n1,2\n');
    expect((await refusal(read(templateOf('{{a}}', ['rows.csv'], 'id'))))).toMatchObject({ message: expect.stringMatching(/--id-column "id" is a column of no --data file \(columns of rows\.csv: a, b\)/) });
    tmp.write('dup.csv', 'a,a\n1,2\n');
    expect((await refusal(read(templateOf('{{a}}', ['dup.csv'])))).message).toMatch(/^dup\.csv:1: expected distinct column names in the header, got "a" as columns 1 and 2/);
    tmp.write('rows.xlsx', 'x');
    expect((await refusal(read(templateOf('{{a}}', ['rows.xlsx'])))).message).toMatch(/^rows\.xlsx: expected a --data file ending in \.csv, \.tsv/);
  });

  it('looks through JSONL rows for a placeholder column the first row lacks', async () => {
    tmp.write('rows.jsonl', '{"a": "1"}\n{"a": "2", "b": "x"}\n');
    const records = await read(templateOf('{{a}} {{b}}', ['rows.jsonl']));
    expect(summarize(records)).toEqual(['!rows.jsonl:1: no column "b" (columns: a)', 'rows.jsonl:2']);
  });

  it('refuses a template whose front matter is wrong, naming its line', async () => {
    tmp.write('rows.csv', 'a\n1\n');
    const error = await refusal(read(templateOf('---\ntemperature: 0\ntop_q: 1\n---\n{{a}}', ['rows.csv'])));
    expect(error.message).toMatch(/^prompt\.md:3: expected one of the keys model, system, .*top_p.*, got `top_q`$/);
  });
});

describe('template rows: priorities', () => {
  it("a row's --priority-column field wins, then its data file's --priority, then the template's priority:, then 0; none is sent", async () => {
    tmp.write('a.csv', 'name,prio\nx,2.5\ny,\n');
    tmp.write('b.jsonl', '{"name": "z", "prio": -1}\n{"name": "w"}\n');
    const template = templateOf('---\npriority: 3\n---\n{{name}}\n', ['a.csv', 'b.jsonl']);
    const withFileDefault: TemplateInputs = { ...template, priorityColumn: 'prio', data: [template.data[0]!, { ...template.data[1]!, priority: 5 }] };
    const records = await read(withFileDefault);
    expect(records.map((record) => (record.ok ? [userText(record), record.item.priority] : record.invalid.message))).toEqual([
      ['x', 2.5],
      ['y', 3],
      ['z', -1],
      ['w', 5],
    ]);
    for (const record of records) if (record.ok) expect(Object.keys(record.item.body)).not.toContain('priority');
    const plain = await read(templateOf('{{name}}\n', ['a.csv']));
    expect(plain.map((record) => record.ok && record.item.priority)).toEqual([0, 0]);
  });
});
