import { describe, expect, it } from 'vitest';
import { checkSettingValue, describeSettingDefault, parseSettingText } from '../../../src/app/settings/parse-setting.js';
import { settingDefault, settingDefaults, settingRow, settingRowsOf, settingsTable, type CommandName } from '../../../src/app/settings/settings-table.js';
import { UsageError } from '../../../src/errors.js';

const commands = ['run', 'resume', 'jobs', 'status', 'export', 'optimize', 'serve', 'setup', 'report', 'bench'] as const satisfies readonly CommandName[];
// Every command, or this does not compile: a command added to CommandName is tested here too.
const everyCommand: Exclude<CommandName, (typeof commands)[number]> extends never ? true : never = true;

describe('the settings table', () => {
  it('gives each command each flag and each key once', () => {
    for (const command of commands) {
      const rows = settingRowsOf(command);
      expect(rows.length).toBeGreaterThan(0);
      expect(new Set(rows.map((row) => row.flag)).size, command).toBe(rows.length);
      expect(new Set(rows.map((row) => row.key)).size, command).toBe(rows.length);
    }
  });

  it('gives every command its own flags, and each its default that passes its row', () => {
    expect(everyCommand).toBe(true);
    const flagsOf = (command: CommandName): string[] => settingRowsOf(command).map((row) => row.flag);
    expect(flagsOf('setup')).toEqual(['--backend']);
    expect(flagsOf('report')).toEqual(['--db', '--json', '--html']);
    expect(flagsOf('bench')).toEqual(expect.arrayContaining(['--server', '--server-type', '--api-key-env', '--model', '--workers', '--loads', '--requests', '--max-tokens', '--job', '--db', '--json', '--slots', '--ctx', '--threads', '--llama-server']));
    expect(flagsOf('jobs')).toEqual(['--db', '--json']);
    expect(flagsOf('status')).toEqual(['--db', '--watch', '--interval', '--json']);
    expect(flagsOf('serve')).toEqual(expect.arrayContaining(['--model', '--host', '--port', '--api-key-env', '--gpu', '--slots', '--ctx', '--threads']));
    expect(flagsOf('export')).toEqual(expect.arrayContaining(['--db', '--out', '--format', '--failed', '--bom']));
    expect(flagsOf('resume')).toContain('--retry-failed');
    expect(flagsOf('optimize')).toEqual(expect.arrayContaining(['--server', '--model', '--measure', '--no-save', '--json']));
    for (const command of commands) {
      for (const [key, value] of Object.entries(settingDefaults(command))) {
        const row = settingRow(command, key);
        if (row.type !== 'boolean') expect(() => checkSettingValue(row, value, 'the table'), `${command} ${row.flag}`).not.toThrow();
      }
    }
    expect(settingDefaults('setup')).toEqual({ backend: 'auto' });
    expect(settingDefaults('report')).toEqual({ json: false });
    expect(settingDefaults('bench')).toMatchObject({ loads: 3, requests: 16, maxTokens: 32, job: 'bench', json: false, slots: 4, contextSize: 2048 });
    expect(settingDefaults('serve')).toMatchObject({ host: '127.0.0.1', port: 8080, gpu: 'auto' });
  });

  it('declares a row once: rows of one flag that say the same differ in where the value may come from', () => {
    for (const [i, row] of settingsTable.entries()) {
      for (const other of settingsTable.slice(i + 1)) {
        if (other.key !== row.key || other.flag !== row.flag || other.help !== row.help) continue;
        expect(other.sources, `${row.flag} for ${row.commands.join(', ')} and ${other.commands.join(', ')}: one row`).not.toEqual(row.sources);
      }
    }
    // --server-type and --api-key-env: one declaration, taken by run, resume, optimize (remembered by the job) and bench.
    for (const flag of ['--server-type', '--api-key-env']) {
      const rows = settingsTable.filter((row) => row.flag === flag && row.commands.some((command) => command !== 'serve'));
      expect(rows.flatMap((row) => row.commands).sort(), flag).toEqual(['bench', 'optimize', 'resume', 'run']);
    }
    const [first, second] = settingsTable.filter((row) => row.key === 'serverType') as Array<{ readonly choices: readonly string[] }>;
    expect(first!.choices).toBe(second!.choices);
  });

  it('names one concept once: slots, context and threads are the same row wherever they are taken', () => {
    for (const key of ['slots', 'contextSize', 'threads', 'startupTimeoutMs', 'llamaServer']) {
      const rows = settingsTable.filter((row) => row.key === key);
      expect(rows, key).toHaveLength(1);
    }
    expect(settingsTable.some((row) => ['parallel', 'slotsPerServer', 'ctx'].includes(row.key))).toBe(false);
    // `batch serve` and `batch run` start servers of the same shape by default.
    expect(settingDefault('serve', 'slots')).toBe(settingDefault('run', 'slots'));
    expect(settingDefault('serve', 'contextSize')).toBe(settingDefault('run', 'contextSize'));
    expect(settingDefault('optimize', 'contextSize')).toBe(settingDefault('run', 'contextSize'));
  });

  it('holds defaults in the unit of the key (ms, bytes) and every default passes its own row', () => {
    expect(settingDefault('run', 'timeoutMs')).toBe(600_000);
    expect(settingDefault('run', 'maxWaitMs')).toBe(1_800_000);
    for (const row of settingsTable) {
      if (row.default === undefined || row.type === 'boolean') continue;
      expect(() => checkSettingValue(row, row.default, 'the table'), row.flag).not.toThrow();
    }
  });

  it('lists the defaults of a command, and nothing without one', () => {
    const defaults = settingDefaults('run');
    expect(defaults).toMatchObject({ slots: 4, contextSize: 2048, maxModels: 2, retries: 5, keepAlive: '30m', stream: false });
    expect('threads' in defaults).toBe(false);
    expect(() => settingRow('run', 'nope')).toThrow(/no setting "nope"/);
  });

  it('says a dynamic default in words, and a duration in seconds', () => {
    expect(describeSettingDefault(settingRow('run', 'workers'))).toMatch(/slots/);
    expect(describeSettingDefault(settingRow('run', 'timeoutMs'))).toBe('600');
    expect(describeSettingDefault(settingRow('run', 'stream'))).toBeUndefined();
  });
});

describe('parseSettingText', () => {
  it('reads durations in seconds into milliseconds, and 0 only where it means no limit', () => {
    expect(parseSettingText(settingRow('run', 'timeoutMs'), '1.5')).toBe(1500);
    expect(parseSettingText(settingRow('run', 'maxWaitMs'), '0')).toBe(0);
    expect(parseSettingText(settingRow('run', 'timeoutMs'), '0.0001')).toBe(1);
    expect(() => parseSettingText(settingRow('run', 'timeoutMs'), '0')).toThrow('expected `--timeout` to be a number of seconds > 0, got "0"');
    expect(() => parseSettingText(settingRow('run', 'graceMs'), '-1')).toThrow(UsageError);
  });

  it('refuses every duration at or above 2^31 ms, which Node would cut to a 1 ms timer, from a flag or the job', () => {
    const durations = settingsTable.filter((row) => row.type === 'seconds');
    expect(durations.length).toBeGreaterThan(5);
    for (const row of durations) {
      expect(parseSettingText(row, '2147483'), row.flag).toBe(2_147_483_000);
      expect(() => parseSettingText(row, '2200000'), row.flag).toThrow(`expected \`${row.flag}\` to be at most 2147483 seconds (24.8 days, the longest timer Node keeps)`);
      expect(() => parseSettingText(row, '99999999'), row.flag).toThrow(UsageError);
      expect(() => checkSettingValue(row, 2 ** 31, 'saved in j.sqlite'), row.flag).toThrow(`(saved in j.sqlite) to be at most 2147483 seconds`);
    }
    expect(() => parseSettingText(settingRow('run', 'maxWaitMs'), '3000000')).toThrow('for no limit give 0, got "3000000"');
  });

  it("holds a duration's minimum in milliseconds and refuses less, from a flag or the job", () => {
    const row = settingRow('run', 'sampleEveryMs');
    expect(settingDefault('run', 'sampleEveryMs')).toBe(5000);
    expect(parseSettingText(row, '0.1')).toBe(100);
    expect(parseSettingText(settingRow('resume', 'sampleEveryMs'), '2.5')).toBe(2500);
    expect(() => parseSettingText(row, '0.05')).toThrow('expected `--sample-every` to be a number of seconds >= 0.1, got "0.05"');
    expect(() => parseSettingText(row, '0')).toThrow(UsageError);
    expect(() => checkSettingValue(row, 50, 'saved in jobs.sqlite')).toThrow('expected `--sample-every` (saved in jobs.sqlite) to be a number of seconds >= 0.1, got 50');
    expect(checkSettingValue(row, 100, 'x')).toBe(100);
  });

  it('reads counts as digits only, from the row minimum', () => {
    expect(parseSettingText(settingRow('run', 'workers'), ' 8 ')).toBe(8);
    for (const text of ['0', '1e3', '2.0', '0x10', '', 'four']) {
      expect(() => parseSettingText(settingRow('run', 'workers'), text), text).toThrow(/expected `--workers` to be a whole number >= 1/);
    }
    expect(parseSettingText(settingRow('run', 'retries'), '0')).toBe(0);
    expect(() => parseSettingText(settingRow('run', 'contextSize'), '8')).toThrow('expected `--ctx` to be a whole number >= 16, got 8');
  });

  it('reads GiB into bytes and refuses sizes that are not positive', () => {
    expect(parseSettingText(settingRow('run', 'memoryBudgetBytes'), '1.5')).toBe(1.5 * 1024 ** 3);
    expect(() => parseSettingText(settingRow('run', 'memoryBudgetBytes'), '0')).toThrow(/`--memory-budget` to be a number of GiB > 0/);
  });

  it('refuses an empty string where a value is needed', () => {
    expect(() => parseSettingText(settingRow('run', 'keepAlive'), '  ')).toThrow(/`--keep-alive` to be an Ollama keep_alive/);
  });

  it("--keep-alive takes Ollama's keep_alive syntax (a Go duration, or seconds) and refuses what Ollama would answer 400 to", () => {
    const row = settingRow('run', 'keepAlive');
    for (const text of ['30m', '1h30m', '90s', '1.5h', '250ms', '0', '-1', '300', '-1m', ' 5m ']) expect(parseSettingText(row, text), text).toBe(text.trim());
    for (const text of ['banana', '5 m', '5M', '1d', 'm', '-', '1h30', '3e5', '99999999999h']) {
      expect(() => parseSettingText(row, text), text).toThrow(`expected \`--keep-alive\` to be an Ollama keep_alive: a duration such as 30m, 1h30m or 90s, seconds such as 300, 0 to unload at once, or a negative value such as -1 to keep the model loaded, got "${text}"`);
    }
    expect(() => checkSettingValue(row, 'banana', 'saved in j.sqlite')).toThrow('expected `--keep-alive` (saved in j.sqlite) to be an Ollama keep_alive');
  });
});

describe('checkSettingValue', () => {
  it('names the flag, where the value came from and the value', () => {
    expect(() => checkSettingValue(settingRow('run', 'workers'), 'eight', 'saved in jobs.sqlite')).toThrow('expected `--workers` (saved in jobs.sqlite) to be a whole number >= 1, got "eight"');
    expect(() => checkSettingValue(settingRow('run', 'servers'), ['http://a', ''], 'x')).toThrow(/`--server` \(x\) to be a list of non-empty strings/);
    expect(() => checkSettingValue(settingRow('run', 'serverType'), 'vllm', 'x')).toThrow(/one of openai, llama-server, ollama, got "vllm"/);
    expect(checkSettingValue(settingRow('run', 'stream'), true, 'x')).toBe(true);
  });
});
