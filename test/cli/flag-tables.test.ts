import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingRowsOf } from '../../src/app/settings/settings-table.js';
import { documentedCommands, renderFlagTable, withFlagTables } from '../../src/cli/flag-tables.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { repoRoot } from '../helpers/sim-process.js';

describe('README, --help and the settings table agree', () => {
  it("README's flag tables are the ones the settings table makes (npm run docs:flags rewrites them)", () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toBe(withFlagTables(readme));
    for (const command of documentedCommands) expect(readme).toContain(renderFlagTable(command));
  });

  it.each(documentedCommands)('`batch %s --help` lists exactly the table\'s flags, with their help', async (command) => {
    const { code, stdout } = await runCliInProcess([command, '--help']);
    expect(code).toBe(0);
    const rows = settingRowsOf(command);
    const help = stdout.replace(/\s+/g, ' ');
    for (const row of rows) expect(help, row.flag).toContain(row.help.replace(/\s+/g, ' '));
    // An option's line starts two spaces in; a wrapped help line that begins with a flag (`--retries)`) is further in.
    const listed = [...stdout.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((match) => match[1]).filter((flag) => flag !== '--help');
    expect(listed).toEqual(rows.map((row) => row.flag));
  });

  it('a table whose README section is missing is reported, not silently skipped', () => {
    expect(() => withFlagTables('# no tables here\n')).toThrow(/README has no "<!-- flags:run/);
  });
});
