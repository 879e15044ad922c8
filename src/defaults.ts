/**
 * The defaults that the library's options share with `batch`'s settings table: the table's rows
 * (src/app/settings/settings-table.ts) and the modules that take these options both read them
 * here, so a value lives in one place even though the table sits in a layer above those modules.
 * Keys are the settings table's keys. test/defaults.test.ts checks that the table and every
 * option's `@default` say the same.
 */
export const defaults = {
  /** `--timeout`: `BatchSchedulerOptions.timeoutMs`. */
  timeoutMs: 600_000,
  /** `--retries`: `RetryPolicyOptions.retries`. */
  retries: 5,
  /** `--max-wait`: `BatchSchedulerOptions.maxWaitMs`. */
  maxWaitMs: 1_800_000,
  /** `--grace`: `BatchSchedulerOptions.graceMs`. */
  graceMs: 30_000,
  /** `--json-retries`: `JsonAnswerCheckOptions.retries`. */
  jsonRetries: 2,
  /** `--max-down`: `StaticRouterOptions.maxDownMs`. */
  maxDownMs: 3_600_000,
  /** `--fallback-after`: `FallbackRouterOptions.fallbackAfterMs`. */
  fallbackAfterMs: 300_000,
  /** `--max-models`: `ModelPoolOptions.maxModels`. */
  maxModels: 2,
  /** `--startup-timeout`: `ManagedServerOptions.startupTimeoutMs`. */
  startupTimeoutMs: 600_000,
  /** `--sample-every`: `RunSamplerOptions.intervalMs` and `RunTelemetryOptions.intervalMs`. */
  sampleEveryMs: 5000,
  /** `--keep-alive`: `OllamaBackendOptions.keepAlive`. */
  keepAlive: '30m',
  /** `batch serve --host`: `EmbeddedServerOptions.host`, `EmbeddedServerFlags.host`. */
  host: '127.0.0.1',
  /** `batch serve --gpu`: `EmbeddedServerFlags.gpu`. */
  gpu: 'auto',
  /** `--engine`: `ChooseServerLaunchOptions.engine`. */
  engine: 'auto',
  /** `--local-copy`: `WorkingCopyOptions.mode`. */
  localCopy: 'auto',
  /** `--local-copy-every`: `WorkingCopyOptions.copyEveryMs`. */
  localCopyEveryMs: 60_000,
  /** `batch status --interval`: `WatchStatusOptions.intervalMs`. */
  intervalMs: 2000,
  /** `batch up --idle`. */
  idle: '30m',
} as const;
