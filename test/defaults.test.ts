import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaults } from '../src/defaults.js';
import { settingDefault, settingsTable, type CommandName } from '../src/app/settings/settings-table.js';
import { RetryPolicy } from '../src/scheduler/retry-policy.js';
import { jsonAnswerCheck } from '../src/scheduler/answer-check.js';
import { parseEmbeddedServerFlags } from '../src/embedded/embedded-server-flags.js';

const srcDir = path.resolve(import.meta.dirname, '../src');

/** An option of the library whose default is a setting's: where it is declared, and where it is read. */
interface SharedOption {
  /** `file#Interface.field`, the option type that documents the default. */
  readonly option: string;
  /** The module that applies the default (`field ?? …`); the option's own file when absent. */
  readonly readIn?: string;
  readonly command: CommandName;
  readonly key: string;
}

const shared: readonly SharedOption[] = [
  { option: 'scheduler/batch-scheduler-options.ts#BatchSchedulerOptions.timeoutMs', readIn: 'scheduler/batch-scheduler.ts', command: 'run', key: 'timeoutMs' },
  { option: 'scheduler/batch-scheduler-options.ts#BatchSchedulerOptions.maxWaitMs', readIn: 'scheduler/batch-scheduler.ts', command: 'run', key: 'maxWaitMs' },
  { option: 'scheduler/batch-scheduler-options.ts#BatchSchedulerOptions.graceMs', readIn: 'scheduler/batch-scheduler.ts', command: 'run', key: 'graceMs' },
  { option: 'scheduler/retry-policy.ts#RetryPolicyOptions.retries', command: 'run', key: 'retries' },
  { option: 'scheduler/answer-check.ts#JsonAnswerCheckOptions.retries', command: 'run', key: 'jsonRetries' },
  { option: 'app/routing/static-router.ts#StaticRouterOptions.maxDownMs', command: 'run', key: 'maxDownMs' },
  { option: 'servers/model-pool-options.ts#ModelPoolOptions.maxModels', readIn: 'servers/model-pool.ts', command: 'run', key: 'maxModels' },
  { option: 'servers/model-pool-options.ts#ModelPoolOptions.startupTimeoutMs', readIn: 'servers/managed-server.ts', command: 'run', key: 'startupTimeoutMs' },
  { option: 'servers/managed-server.ts#ManagedServerOptions.startupTimeoutMs', command: 'run', key: 'startupTimeoutMs' },
  { option: 'reporting/run-sampler.ts#RunSamplerOptions.intervalMs', command: 'run', key: 'sampleEveryMs' },
  { option: 'reporting/run-telemetry.ts#RunTelemetryOptions.intervalMs', readIn: 'reporting/run-sampler.ts', command: 'run', key: 'sampleEveryMs' },
  { option: 'backends/ollama-backend.ts#OllamaBackendOptions.keepAlive', command: 'run', key: 'keepAlive' },
  { option: 'servers/choose-server-launch.ts#ChooseServerLaunchOptions.engine', command: 'run', key: 'engine' },
  { option: 'store/database-working-copy.ts#WorkingCopyOptions.mode', command: 'run', key: 'localCopy' },
  { option: 'store/database-working-copy.ts#WorkingCopyOptions.copyEveryMs', command: 'run', key: 'localCopyEveryMs' },
  { option: 'embedded/embedded-server.ts#EmbeddedServerOptions.host', command: 'serve', key: 'host' },
  { option: 'embedded/embedded-server-flags.ts#EmbeddedServerFlags.host', command: 'serve', key: 'host' },
  { option: 'embedded/embedded-server-flags.ts#EmbeddedServerFlags.gpu', command: 'serve', key: 'gpu' },
  { option: 'app/run/run-bench.ts#RunBenchOptions.loads', command: 'bench', key: 'loads' },
  { option: 'app/run/run-bench.ts#RunBenchOptions.requests', command: 'bench', key: 'requests' },
  { option: 'app/run/run-bench.ts#RunBenchOptions.maxTokens', command: 'bench', key: 'maxTokens' },
  { option: 'app/run/run-bench.ts#RunBenchOptions.job', command: 'bench', key: 'job' },
  { option: 'cli/commands/watch-status.ts#WatchStatusOptions.intervalMs', command: 'status', key: 'intervalMs' },
];

function source(file: string): string {
  return readFileSync(path.join(srcDir, file), 'utf8');
}

/** The `@default` of `field` in `interface` of `file`, as a value: a number, a quoted string unquoted, else the text. */
function documentedDefault(option: string): unknown {
  const [file, member] = option.split('#') as [string, string];
  const [name, field] = member.split('.') as [string, string];
  const text = source(file);
  const start = text.indexOf(`export interface ${name} `);
  if (start < 0) throw new Error(`${file}: no interface ${name}`);
  const body = text.slice(start, text.indexOf('\n}', start));
  const doc = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*readonly ${field}\\?:`).exec(body)?.[1];
  const given = doc === undefined ? undefined : /@default\s+(.+?)\s*(?:\n|$)/.exec(doc)?.[1]?.replace(/\s*\*?$/, '');
  if (given === undefined) throw new Error(`${file}: ${name}.${field} has no @default`);
  if (/^(['"]).*\1$/.test(given)) return given.slice(1, -1);
  return /^\d+$/.test(given) ? Number(given) : given;
}

describe("the library's option defaults", () => {
  it.each(shared)("$option documents the settings table's default", ({ option, command, key }) => {
    expect(documentedDefault(option)).toEqual(settingDefault(command, key as never));
  });

  it.each(shared)('$option is applied from src/defaults.ts or the table, never a literal of its own', ({ option, readIn, command }) => {
    const file = readIn ?? option.split('#')[0]!;
    const field = option.split('.').at(-1)!;
    const text = source(file);
    // `options.timeoutMs ?? 600_000` restated the default; `?? defaults.timeoutMs` or `?? settingDefault(…)` reads it.
    expect(text, file).not.toMatch(new RegExp(`\\b${field} \\?\\? ['"\\d]`));
    expect(text, file).toMatch(new RegExp(`\\b${field} \\?\\? (defaults\\.|settingDefault\\('${command}')`));
  });

  it("holds in src/defaults.ts exactly the table's defaults, for every command that takes the setting", () => {
    for (const [key, value] of Object.entries(defaults)) {
      const rows = settingsTable.filter((row) => row.key === key);
      expect(rows.length, key).toBeGreaterThan(0);
      for (const row of rows) expect((row as { default?: unknown }).default, `${row.flag} of ${row.commands.join(', ')}`).toBe(value);
    }
  });

  it('applies them when an option is left out', () => {
    expect(new RetryPolicy().retries).toBe(settingDefault('run', 'retries'));
    expect(jsonAnswerCheck().retries).toBe(settingDefault('run', 'jsonRetries'));
    const flags = parseEmbeddedServerFlags({ slots: 1, contextSize: 16 }, 0);
    expect(flags.host).toBe(settingDefault('serve', 'host'));
    expect(flags.gpu === false ? 'off' : flags.gpu).toBe(settingDefault('serve', 'gpu'));
  });
});
