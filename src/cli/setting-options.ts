import type { Command, Option } from 'commander';
import { commander } from './commander.js';
import { describeSettingDefault, parseSettingText } from '../app/settings/parse-setting.js';
import { settingRowsOf, type CommandName, type GivenSettings, type SettingRow } from '../app/settings/settings-table.js';

/** The commander option of one settings-table row. Defaults are not set here: see below. */
export function optionOf(row: SettingRow): Option {
  const flags = `${row.short === undefined ? '' : `${row.short}, `}${row.flag}${row.valueName === undefined ? '' : ` <${row.valueName}>`}`;
  const shownDefault = describeSettingDefault(row);
  const option = new commander.Option(flags, shownDefault === undefined ? row.help : `${row.help} (default: ${shownDefault})`);
  if (row.type === 'choice') option.choices(row.choices ?? []);
  else if (row.type === 'list') option.argParser((text: string, previous: readonly string[] | undefined) => [...(previous ?? []), parseSettingText(row, text) as string]);
  else if (row.valueName !== undefined) option.argParser((text: string) => parseSettingText(row, text));
  return option;
}

/** Adds `command`'s rows of the settings table as commander options. */
export function addSettingOptions(command: Command, name: CommandName): Command {
  for (const row of settingRowsOf(name)) command.addOption(optionOf(row));
  return command;
}

/**
 * The settings the user gave on the command line, keyed as the table names them. Values commander
 * filled in itself (the implied `true` of a `--no-x` flag) are left out, so that the job's saved
 * config, saved advice and the table's defaults apply in their order.
 */
export function readSettingFlags<C extends CommandName>(command: Command, name: C): GivenSettings<C> {
  const given: Record<string, unknown> = {};
  for (const row of settingRowsOf(name)) {
    const attribute = optionOf(row).attributeName();
    if (command.getOptionValueSource(attribute) !== 'cli') continue;
    given[row.key] = command.getOptionValue(attribute);
  }
  return given as GivenSettings<C>;
}
