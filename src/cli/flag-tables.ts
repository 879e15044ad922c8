import { readFileSync, writeFileSync } from 'node:fs';
import { describeSettingDefault } from '../app/settings/parse-setting.js';
import { settingRowsOf, type CommandName, type SettingRow } from '../app/settings/settings-table.js';

/** Where a command's table stands in README: between these two lines. */
function markers(command: CommandName): readonly [string, string] {
  return [`<!-- flags:${command} (generated from src/app/settings/settings-table.ts: npm run docs:flags) -->`, `<!-- /flags:${command} -->`];
}

/** The commands whose flags README lists, in its order. */
export const documentedCommands: readonly CommandName[] = ['run', 'resume', 'jobs', 'status', 'export', 'report', 'bench', 'optimize', 'up', 'ps', 'down', 'serve', 'setup'];

/** Commands that keep no job: a row they share with `batch run` is never supplied by one there. */
const jobless = new Set<CommandName>(['up']);

function flagCell(row: SettingRow): string {
  const value = row.valueName === undefined ? '' : ` <${row.valueName}>`;
  return `\`${row.short === undefined ? '' : `${row.short}, `}${row.flag}${value}\``;
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** README's table of one command's flags: flag, meaning, default, and whether a job or saved advice can supply it. */
export function renderFlagTable(command: CommandName): string {
  const lines = ['| flag | meaning | default | also from |', '|---|---|---|---|'];
  for (const row of settingRowsOf(command)) {
    const choices = row.choices === undefined ? '' : ` (${row.choices.join(', ')})`;
    const from = row.sources.filter((source) => source !== 'flag' && !(source === 'job' && jobless.has(command))).map((source) => (source === 'job' ? 'the job' : 'saved advice'));
    lines.push(`| ${flagCell(row)} | ${escape(row.help + choices)} | ${escape(describeSettingDefault(row) ?? '')} | ${from.join(', ')} |`);
  }
  return lines.join('\n');
}

/** README's text with every command's flag table rewritten from the settings table. */
export function withFlagTables(readme: string): string {
  let text = readme;
  for (const command of documentedCommands) {
    const [open, close] = markers(command);
    const start = text.indexOf(open);
    const end = text.indexOf(close);
    if (start < 0 || end < start) throw new Error(`README has no "${open}" … "${close}" section for \`batch ${command}\``);
    text = `${text.slice(0, start + open.length)}\n${renderFlagTable(command)}\n${text.slice(end)}`;
  }
  return text;
}

/** Rewrites the flag tables of the README at `path` (`npm run docs:flags`). */
export function updateReadmeFlagTables(path: string): void {
  writeFileSync(path, withFlagTables(readFileSync(path, 'utf8')));
}
