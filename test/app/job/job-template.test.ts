import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { jobTemplateOf, parseJobTemplate, sameTemplate } from '../../../src/app/job/job-template.js';

describe('jobTemplateOf', () => {
  it('makes the paths absolute and keeps them as typed for sources and ids', () => {
    expect(jobTemplateOf({ template: 'p.md', data: ['./data/rows.csv'], idColumn: 'id' }, '/work')).toEqual({
      template: { path: '/work/p.md', display: 'p.md' },
      data: [{ path: '/work/data/rows.csv', display: 'data/rows.csv' }],
      idColumn: 'id',
    });
    expect(jobTemplateOf({}, '/work')).toBeUndefined();
  });

  it.each([
    [{ data: ['rows.csv'] }, '--data gives the rows of a template: pass --template prompt.md too'],
    [{ idColumn: 'id' }, '--id-column names a column of --data rows: pass --template and --data too'],
    [{ template: 'p.md' }, '--template p.md needs the rows to fill it with: pass --data rows.csv (or .tsv, .jsonl)'],
    [{ template: 'p.md', data: ['rows.csv', './rows.csv'] }, '--data rows.csv is given twice (also as --data rows.csv); its rows would be read twice: give each file once'],
  ])('refuses half a template run: %j', (flags, message) => {
    expect(() => jobTemplateOf(flags, '/work')).toThrow(new UsageError(message));
  });

  it('round-trips through the saved config and compares data in order', () => {
    const template = jobTemplateOf({ template: 'p.md', data: ['a.csv', 'b.jsonl'] }, '/work')!;
    const saved = parseJobTemplate(JSON.parse(JSON.stringify(template)), 'db');
    expect(saved).toEqual(template);
    expect(sameTemplate(saved, template)).toBe(true);
    expect(sameTemplate(template, jobTemplateOf({ template: 'p.md', data: ['b.jsonl', 'a.csv'] }, '/work'))).toBe(false);
    expect(sameTemplate(template, jobTemplateOf({ template: 'p.md', data: ['a.csv', 'b.jsonl'], idColumn: 'id' }, '/work'))).toBe(false);
    expect(sameTemplate(undefined, undefined)).toBe(true);
    expect(() => parseJobTemplate({ template: 'p.md' }, 'db')).toThrow(/db: expected the job's saved template/);
  });
});
