/**
 * The one table of `batch`'s settings: every flag of every command, its type, its default, its
 * help text and where its value may come from. Commander's options (src/cli/setting-options.ts),
 * the typed settings the commands receive, README's flag tables and the job's saved config are
 * all derived from these rows, so a new setting is one row and a default lives nowhere else. The
 * defaults that library options share (a scheduler's timeout, a pool's models) are src/defaults.ts's,
 * read here and by those modules alike: test/defaults.test.ts keeps every option's `@default` equal.
 */

/** The commands that take settings. */
export type CommandName = 'run' | 'resume' | 'jobs' | 'status' | 'export' | 'optimize' | 'serve' | 'setup' | 'report' | 'bench' | 'up' | 'ps' | 'down';

/**
 * How a flag's text becomes a value:
 * - `count`: a whole number >= `min`;
 * - `seconds`: a duration in seconds (decimals allowed), held in milliseconds;
 * - `gib`: a size in GiB (decimals allowed), held in bytes;
 * - `list`: a repeatable flag, held as an array in the order given;
 * - `choice`: one of `choices`;
 * - `keep-alive`: an Ollama keep_alive (a Go duration such as `30m`, or seconds), held as typed;
 * - `string`, `boolean`: as they are.
 */
export type SettingType = 'string' | 'list' | 'boolean' | 'count' | 'seconds' | 'gib' | 'choice' | 'keep-alive';

/**
 * Where a value may come from besides the table's default, in order of precedence:
 * `flag` (given now), `job` (remembered in the job database, so `batch resume` needs no flags),
 * `advice` (saved by `batch optimize` for this machine).
 */
export type SettingSource = 'flag' | 'job' | 'advice';

/** One row of the table. */
export interface SettingRow {
  /** Name of the value in the typed settings and in the job's saved config (units in the name). */
  readonly key: string;
  /** The long flag, e.g. `--max-models`; `--no-x` for a boolean that defaults to true. */
  readonly flag: string;
  /** A one-letter alias, e.g. `-w`. */
  readonly short?: string;
  /** The placeholder shown in help, e.g. `n`; absent for booleans. */
  readonly valueName?: string;
  readonly type: SettingType;
  /** `count`: the smallest value accepted; `seconds`: the smallest accepted, in milliseconds (as `default`). */
  readonly min?: number;
  /** `seconds`: whether 0 is accepted, and what it means. @default refused */
  readonly zero?: 'refused' | 'unlimited';
  /** `string`: whether an empty value is accepted, clearing a value the job remembers. @default refused */
  readonly empty?: 'refused' | 'clears';
  /** `choice`: the values accepted. */
  readonly choices?: readonly string[];
  /** The value when no source gives one, in the unit the settings hold (ms, bytes). */
  readonly default?: string | number | boolean;
  /** How the default is chosen when it depends on the run (shown in help and README). */
  readonly defaultText?: string;
  /** One line of help. */
  readonly help: string;
  /** Sources besides the default; every row can be given as a flag. */
  readonly sources: readonly SettingSource[];
  /** The commands that take the flag. */
  readonly commands: readonly CommandName[];
}

import { defaults } from '../../defaults.js';

const runLike = ['run', 'resume'] as const;
const managed = ['run', 'resume', 'optimize'] as const;
/** Settings of the servers a daemon keeps (`batch up`) as of those a run starts itself. */
const kept = [...managed, 'up'] as const;
const keptRunLike = [...runLike, 'up'] as const;

/**
 * Rows that several commands take alike, declared once: each command group adds where the value
 * may come from (a job remembers `--server-type` for `batch resume`; `batch bench` keeps no settings).
 */
const serverType = { key: 'serverType', flag: '--server-type', valueName: 'type', type: 'choice', choices: ['openai', 'llama-server', 'ollama'], defaultText: 'detected by probing', help: 'skip detection of the server flavour' } as const;
const apiKeyEnv = { key: 'apiKeyEnv', flag: '--api-key-env', valueName: 'name', type: 'string', defaultText: 'OPENAI_API_KEY for non-local URLs', help: 'environment variable holding the API key (the key itself is never stored)' } as const;

/** Every setting of every command. Order is the order of `--help` and of README's tables. */
export const settingsTable = [
  // Where prompts go.
  { key: 'servers', flag: '--server', valueName: 'url', type: 'list', help: 'a running model server (repeatable; requests are balanced across them)', sources: ['flag', 'job'], commands: runLike },
  { key: 'serversFile', flag: '--servers', valueName: 'file.json', type: 'string', help: 'a JSON file listing servers, [{url, type, models, slots, weight, apiKeyEnv, fallback}], in addition to any given one by one', sources: ['flag', 'job'], commands: runLike },
  { key: 'measureServer', flag: '--server', valueName: 'url', type: 'string', help: 'the running server that --measure measures', sources: ['flag'], commands: ['optimize'] },
  { ...serverType, sources: ['flag', 'job'], commands: managed },
  { ...apiKeyEnv, sources: ['flag', 'job'], commands: managed },
  // Managed servers.
  { key: 'models', flag: '--model', valueName: 'path', type: 'list', help: 'a GGUF model, as path or alias=path (repeatable); managed servers serve it, the first is the default', sources: ['flag', 'job'], commands: keptRunLike },
  { key: 'models', flag: '--model', valueName: 'path', type: 'list', help: 'a GGUF model to plan for, as path or alias=path (repeatable); --measure starts the first', sources: ['flag'], commands: ['optimize'] },
  { key: 'model', flag: '--model', valueName: 'path', type: 'string', defaultText: 'the default model', help: 'the GGUF model to serve', sources: ['flag'], commands: ['serve'] },
  { key: 'modelsDir', flag: '--models-dir', valueName: 'dir', type: 'string', help: 'folder where model names used by prompts are looked up', sources: ['flag', 'job'], commands: keptRunLike },
  { key: 'llamaServer', flag: '--llama-server', valueName: 'bin', type: 'string', defaultText: 'llama-server on PATH, else the one `batch setup llama-server` built, else the embedded server', help: 'llama-server binary for managed servers', sources: ['flag', 'job'], commands: [...kept, 'bench'] },
  { key: 'engine', flag: '--engine', valueName: 'engine', type: 'choice', choices: ['auto', 'embedded', 'llama-server'], default: defaults.engine, help: 'which server runs managed models: auto is llama-server when one is found (given, on PATH, or built by `batch setup llama-server`), else the embedded node-llama-cpp server', sources: ['flag', 'job'], commands: [...kept, 'bench'] },
  { key: 'llamaServerArgs', flag: '--llama-server-args', valueName: 'args', type: 'string', empty: 'clears', help: "extra arguments for every managed llama-server (one string, without the flags batch sets itself such as -m, -np or -c); '' clears the ones a job remembers", sources: ['flag', 'job'], commands: kept },
  { key: 'maxModels', flag: '--max-models', valueName: 'k', type: 'count', min: 1, default: defaults.maxModels, defaultText: `saved advice, else ${defaults.maxModels}`, help: 'models kept loaded at once, least recently used out', sources: ['flag', 'job', 'advice'], commands: keptRunLike },
  { key: 'slots', flag: '--slots', valueName: 'n', type: 'count', min: 1, default: 4, defaultText: 'saved advice, else 4', help: 'requests one managed server generates at once (llama-server -np)', sources: ['flag', 'job', 'advice'], commands: [...keptRunLike, 'serve', 'bench'] },
  { key: 'contextSize', flag: '--ctx', valueName: 'n', type: 'count', min: 16, default: 2048, defaultText: 'saved advice, else 2048', help: 'context per slot, in tokens', sources: ['flag', 'job', 'advice'], commands: [...kept, 'serve', 'bench'] },
  { key: 'threads', flag: '--threads', valueName: 'n', type: 'count', min: 1, defaultText: "the embedded server: the physical cores less one; llama-server: its own", help: 'CPU threads of a managed server, at most the physical cores', sources: ['flag', 'job'], commands: [...keptRunLike, 'serve', 'bench'] },
  { key: 'gpuLayers', flag: '--gpu-layers', valueName: 'n', type: 'count', min: 0, defaultText: "the server's own", help: "layers a managed server offloads to the GPU (llama-server's -ngl, the embedded server's node-llama-cpp gpuLayers)", sources: ['flag', 'job'], commands: kept },
  { key: 'memoryBudgetBytes', flag: '--memory-budget', valueName: 'gib', type: 'gib', help: 'memory managed models may use together, in GiB; larger models evict others first', sources: ['flag', 'job'], commands: keptRunLike },
  { key: 'startupTimeoutMs', flag: '--startup-timeout', valueName: 's', type: 'seconds', default: defaults.startupTimeoutMs, help: 'how long a managed server may take to load its model, in seconds', sources: ['flag', 'job'], commands: kept },
  // Servers that outlive a run: `batch up`, `batch ps`, `batch down`.
  { key: 'daemon', flag: '--no-daemon', type: 'boolean', default: true, help: "start this run's own servers even when a daemon (`batch up`) runs in the batch home; not remembered by the job", sources: ['flag'], commands: runLike },
  { key: 'port', flag: '--port', valueName: 'n', type: 'count', min: 0, defaultText: "the last daemon's port in this batch home, else a free one", help: 'TCP port of the daemon on 127.0.0.1; 0 picks a free one', sources: ['flag'], commands: ['up'] },
  { key: 'idle', flag: '--idle', valueName: 'duration', type: 'string', default: defaults.idle, help: "unload a model no request used for this long (30m, 1h, 90s), like Ollama's keep_alive", sources: ['flag'], commands: ['up'] },
  { key: 'exitWhenIdle', flag: '--exit-when-idle', type: 'boolean', default: false, help: 'stop the daemon when no model is loaded and nothing was asked of it for --idle', sources: ['flag'], commands: ['up'] },
  { key: 'foreground', flag: '--foreground', type: 'boolean', default: false, help: 'run the daemon in this process, logging to stderr too, until SIGTERM or Ctrl-C (for systemd and containers)', sources: ['flag'], commands: ['up'] },
  { key: 'daemonMetricsListen', flag: '--metrics-listen', valueName: 'host:port', type: 'string', help: 'serve Prometheus metrics of the daemon at http://HOST:PORT/metrics (HOST defaults to 127.0.0.1: :9464; :0 takes a free port)', sources: ['flag'], commands: ['up'] },
  { key: 'now', flag: '--now', type: 'boolean', default: false, help: 'stop at once: requests in flight fail, and their runs send them again', sources: ['flag'], commands: ['down'] },
  { key: 'graceMs', flag: '--grace', valueName: 's', type: 'seconds', default: defaults.graceMs, help: 'how long requests in flight may finish before the servers stop, in seconds', sources: ['flag'], commands: ['down'] },
  // The worker pool.
  { key: 'workers', flag: '--workers', short: '-w', valueName: 'n', type: 'count', min: 1, default: 4, defaultText: "the servers' slots, else saved advice, else 4", help: 'requests in flight at once', sources: ['flag', 'job', 'advice'], commands: runLike },
  { key: 'rpm', flag: '--rpm', valueName: 'n', type: 'count', min: 1, defaultText: 'no bound', help: 'requests per minute to each server at most (a token bucket)', sources: ['flag', 'job'], commands: runLike },
  { key: 'tpm', flag: '--tpm', valueName: 'n', type: 'count', min: 1, defaultText: 'no bound', help: 'tokens per minute to each server at most, estimated per request as prompt characters / 4 + max_tokens', sources: ['flag', 'job'], commands: runLike },
  { key: 'timeoutMs', flag: '--timeout', valueName: 's', type: 'seconds', default: defaults.timeoutMs, help: 'per-request timeout, in seconds', sources: ['flag', 'job'], commands: runLike },
  { key: 'retries', flag: '--retries', valueName: 'n', type: 'count', min: 0, default: defaults.retries, help: 'retries of a failed request (connect errors, resets, timeouts, 5xx, 429)', sources: ['flag', 'job'], commands: runLike },
  { key: 'stallTimeoutMs', flag: '--stall-timeout', valueName: 's', type: 'seconds', defaultText: 'none', help: 'abort a request that receives no byte for this long and retry it on another server, in seconds (above the longest answer unless --stream)', sources: ['flag', 'job'], commands: runLike },
  { key: 'maxDownMs', flag: '--max-down', valueName: 's', type: 'seconds', default: defaults.maxDownMs, help: 'with every server down the run pauses; after this long it ends, resumable (exit 3), in seconds', sources: ['flag', 'job'], commands: runLike },
  { key: 'fallbacks', flag: '--fallback', valueName: 'model=other', type: 'list', help: "send MODEL's prompts to OTHER when MODEL's managed server cannot start (a corrupt GGUF, too little memory) or every server of MODEL is down longer than --fallback-after (repeatable; one fallback per model, no chains)", sources: ['flag', 'job'], commands: runLike },
  { key: 'fallbackAfterMs', flag: '--fallback-after', valueName: 's', type: 'seconds', default: defaults.fallbackAfterMs, help: "with --fallback: how long every server of a model may be down before its prompts go to its fallback, in seconds", sources: ['flag', 'job'], commands: runLike },
  { key: 'keepAlive', flag: '--keep-alive', valueName: 'duration', type: 'keep-alive', default: defaults.keepAlive, help: 'Ollama keep_alive sent with every request: a duration such as 30m or 1h30m, seconds, 0 (unload at once) or -1 (keep loaded)', sources: ['flag', 'job'], commands: runLike },
  { key: 'maxWaitMs', flag: '--max-wait', valueName: 's', type: 'seconds', zero: 'unlimited', default: defaults.maxWaitMs, help: "longest a model's prompts wait while other models are served, in seconds; 0 = no bound", sources: ['flag', 'job'], commands: runLike },
  { key: 'graceMs', flag: '--grace', valueName: 's', type: 'seconds', zero: 'unlimited', default: defaults.graceMs, help: 'after Ctrl-C or the deadline (--until, --for), how long in-flight prompts may finish, in seconds; 0 = until they end', sources: ['flag', 'job'], commands: runLike },
  // The night's deadline: given each time, never remembered by the job.
  { key: 'until', flag: '--until', valueName: 'HH:MM', type: 'string', defaultText: 'none', help: 'stop sending at this local time (the next such time, today or tomorrow), let in-flight prompts finish within --grace, and exit 6, resumable; not remembered by the job', sources: ['flag'], commands: runLike },
  { key: 'forDuration', flag: '--for', valueName: 'duration', type: 'string', defaultText: 'none', help: 'stop sending after this long (6h, 90m, 45s, 1h30m), as --until does; not remembered by the job', sources: ['flag'], commands: runLike },
  { key: 'stream', flag: '--stream', type: 'boolean', default: false, help: 'stream answers, to measure time to first token', sources: ['flag', 'job'], commands: runLike },
  // Answers in a JSON shape.
  { key: 'jsonSchema', flag: '--json-schema', valueName: 'file', type: 'string', help: 'JSON Schema (draft 2020-12) every answer must match, for prompts without a response_format of their own', sources: ['flag', 'job'], commands: runLike },
  { key: 'jsonRetries', flag: '--json-retries', valueName: 'n', type: 'count', min: 0, default: defaults.jsonRetries, help: 'times an answer that is not JSON or does not match its schema is asked again (apart from --retries)', sources: ['flag', 'job'], commands: runLike },
  // The job and its files.
  { key: 'job', flag: '--job', valueName: 'name', type: 'string', defaultText: 'derived from the inputs, so the same inputs continue the same job', help: 'job name', sources: ['flag'], commands: ['run'] },
  { key: 'shard', flag: '--shard', valueName: 'k/n|auto', type: 'string', help: "send only shard K of N of the inputs (by a hash of each custom_id); each shard is a job of its own, named <job>.shard-K-of-N. auto: K and N from the Slurm array task or Kubernetes Indexed Job that runs batch (auto/N, or BATCH_SHARD_COUNT, gives N on Kubernetes)", sources: ['flag', 'job'], commands: ['run'] },
  { key: 'acceptModelChange', flag: '--accept-model-change', type: 'boolean', default: false, help: "continue a job although a --model file changed since its earlier runs (its answers then come from two models); refused with MODEL_CHANGED otherwise", sources: ['flag'], commands: runLike },
  { key: 'replaceInputs', flag: '--replace-inputs', type: 'boolean', default: false, help: "make these inputs the job's own when --job names a job that read others; prompts not in them leave the output", sources: ['flag'], commands: ['run'] },
  { key: 'retryFailed', flag: '--retry-failed', type: 'boolean', default: false, help: 'send the failed prompts again too', sources: ['flag'], commands: ['resume'] },
  { key: 'db', flag: '--db', valueName: 'path', type: 'string', defaultText: 'checkpoints/<job>.sqlite, or under $BATCH_HOME', help: 'the job database', sources: ['flag'], commands: [...runLike, 'jobs', 'status', 'report', 'bench'] },
  { key: 'localCopy', flag: '--local-copy', valueName: 'mode', type: 'choice', choices: ['auto', 'always', 'never'], default: defaults.localCopy, help: 'work on a copy of the job database on node-local disk ($SLURM_TMPDIR, $TMPDIR), written back atomically every minute and at the end: auto = when the database is on a network filesystem (NFS, Lustre, GPFS, CephFS, SMB, FUSE), where SQLite is not safe', sources: ['flag'], commands: runLike },
  { key: 'localCopyEveryMs', flag: '--local-copy-every', valueName: 's', type: 'seconds', default: defaults.localCopyEveryMs, help: 'how often the local copy of the job database is written back, in seconds (a task killed outright sends again what was answered since)', sources: ['flag'], commands: runLike },
  { key: 'dbs', flag: '--db', valueName: 'path', type: 'list', defaultText: 'checkpoints/<job>.sqlite, or the shards <job>.shard-K-of-N.sqlite, under $BATCH_HOME', help: 'a job database (repeatable: the databases of all shards of a job, merged in input order); a folder: the shard databases of the job in it; a quoted glob: the files it matches', sources: ['flag'], commands: ['export'] },
  { key: 'out', flag: '--out', valueName: 'path', type: 'string', defaultText: 'beside the job database', help: 'output JSONL (a link is followed; a device or a FIFO with a reader is written in place)', sources: ['flag', 'job'], commands: runLike },
  { key: 'out', flag: '--out', valueName: 'path', type: 'string', defaultText: 'standard output', help: 'file to write (a link is followed; a device or a FIFO with a reader is written in place)', sources: ['flag'], commands: ['export'] },
  { key: 'format', flag: '--format', valueName: 'format', type: 'choice', choices: ['jsonl', 'csv'], defaultText: 'csv for an --out ending in .csv, else jsonl', help: 'output format', sources: ['flag'], commands: ['export'] },
  { key: 'failedOnly', flag: '--failed', type: 'boolean', default: false, help: 'only the failed prompts', sources: ['flag'], commands: ['export'] },
  { key: 'partial', flag: '--partial', type: 'boolean', default: false, help: 'write the finished prompts of a job (or of its shards) with prompts not finished, instead of refusing with exit 5', sources: ['flag'], commands: ['export'] },
  { key: 'bom', flag: '--bom', type: 'boolean', default: false, help: 'start a CSV with a UTF-8 byte order mark, for spreadsheets', sources: ['flag'], commands: ['export'] },
  // Prompts from a template over a table, and a dry run first.
  { key: 'template', flag: '--template', valueName: 'file', type: 'string', help: 'a prompt file whose {{column}} placeholders are filled from each --data row (one prompt per row)', sources: ['flag'], commands: ['run'] },
  { key: 'data', flag: '--data', valueName: 'file', type: 'list', help: 'rows for --template: .csv, .tsv or .jsonl with the columns it names (repeatable)', sources: ['flag'], commands: ['run'] },
  { key: 'idColumn', flag: '--id-column', valueName: 'column', type: 'string', defaultText: '<data file>:<line of the row>', help: "the --data column holding each row's custom_id", sources: ['flag'], commands: ['run'] },
  { key: 'priorityColumn', flag: '--priority-column', valueName: 'name', type: 'string', defaultText: "the template's priority:, else 0", help: "the --data column holding each row's priority (a number; higher is sent first; an empty field takes the default)", sources: ['flag'], commands: ['run'] },
  { key: 'priorities', flag: '--priority', valueName: 'file=n', type: 'list', defaultText: '0', help: 'FILE=N: the prompts of input or data file FILE that set no priority get N (a number; higher is sent first; repeatable)', sources: ['flag', 'job'], commands: runLike },
  { key: 'dryRun', flag: '--dry-run', type: 'boolean', default: false, help: 'send nothing and keep nothing: prompts, tokens, max_tokens, time and context fit per model', sources: ['flag'], commands: ['run'] },
  { key: 'cache', flag: '--cache', type: 'boolean', default: false, help: 'reuse answers to identical deterministic prompts from earlier jobs in the same database', sources: ['flag'], commands: runLike },
  // Metrics for other tools.
  { key: 'metrics', flag: '--metrics', valueName: 'file.jsonl', type: 'string', help: 'append one JSON line per finished prompt and one per sample of the run (see --sample-every) to this file', sources: ['flag', 'job'], commands: runLike },
  { key: 'metricsListen', flag: '--metrics-listen', valueName: 'host:port', type: 'string', help: 'serve Prometheus metrics of the run at http://HOST:PORT/metrics while it sends (HOST defaults to 127.0.0.1: :9464; :0 takes a free port)', sources: ['flag', 'job'], commands: runLike },
  { key: 'onFinish', flag: '--on-finish', valueName: 'cmd', type: 'string', empty: 'clears', help: 'run CMD through the shell when the run ends (done, failed prompts, interrupted, servers down, an error), with BATCH_JOB, BATCH_OUTCOME, BATCH_EXIT_CODE, the counts and paths in its environment and no API key; its failure never changes the exit code; an empty value clears the one a job remembers', sources: ['flag', 'job'], commands: runLike },
  { key: 'sampleEveryMs', flag: '--sample-every', valueName: 's', type: 'seconds', min: 100, default: defaults.sampleEveryMs, help: 'time between samples of the run (counts, rates, memory, GPU) in the job database and --metrics, in seconds, at least 0.1', sources: ['flag', 'job'], commands: runLike },
  // `batch status --watch`.
  { key: 'watch', flag: '--watch', type: 'boolean', default: false, help: 'refresh a compact live view of the job until it ends (exit 0 done, 4 failed prompts, 130 interrupted) or Ctrl-C; read-only, so it watches a run in another terminal', sources: ['flag'], commands: ['status'] },
  { key: 'intervalMs', flag: '--interval', valueName: 's', type: 'seconds', min: 100, default: defaults.intervalMs, help: 'with --watch: seconds between refreshes, 0.1 to 3600', sources: ['flag'], commands: ['status'] },
  // `batch optimize`.
  { key: 'hardware', flag: '--hardware', valueName: 'profile.json', type: 'string', help: "plan for another machine (what-if; never saved as this machine's advice): a profile shaped like `batch optimize --json`'s \"hardware\"", sources: ['flag'], commands: ['optimize'] },
  { key: 'measure', flag: '--measure', type: 'boolean', default: false, help: 'measure throughput at concurrency 1, 2, 4, … and recommend the knee', sources: ['flag'], commands: ['optimize'] },
  { key: 'chart', flag: '--chart', valueName: 'file.svg', type: 'string', help: 'with --measure: write the curve as an SVG chart', sources: ['flag'], commands: ['optimize'] },
  { key: 'maxConcurrency', flag: '--max-concurrency', valueName: 'n', type: 'count', min: 1, defaultText: '64; twice the slots for a managed server', help: 'highest concurrency --measure tries', sources: ['flag'], commands: ['optimize'] },
  { key: 'requestsPerLevel', flag: '--requests-per-level', valueName: 'n', type: 'count', min: 1, defaultText: 'max(4 × level, 16)', help: 'requests --measure sends at each concurrency level', sources: ['flag'], commands: ['optimize'] },
  { key: 'save', flag: '--no-save', type: 'boolean', default: true, help: 'do not save the advice for `batch run`', sources: ['flag'], commands: ['optimize'] },
  // `batch serve`.
  { key: 'host', flag: '--host', valueName: 'host', type: 'string', default: defaults.host, help: 'interface to listen on; anything but loopback exposes the server to the network', sources: ['flag'], commands: ['serve'] },
  { key: 'port', flag: '--port', valueName: 'n', type: 'count', min: 0, default: 8080, help: 'TCP port; 0 picks a free one', sources: ['flag'], commands: ['serve'] },
  { key: 'apiKeyEnv', flag: '--api-key-env', valueName: 'name', type: 'string', help: 'environment variable holding the API key clients must send (Authorization: Bearer); wanted with any --host but loopback', sources: ['flag'], commands: ['serve'] },
  { key: 'gpu', flag: '--gpu', valueName: 'mode', type: 'choice', choices: ['auto', 'off'], default: defaults.gpu, help: 'use CUDA/Vulkan when available, or force the CPU', sources: ['flag'], commands: ['serve'] },
  // `batch setup`.
  { key: 'backend', flag: '--backend', valueName: 'backend', type: 'choice', choices: ['auto', 'cpu', 'cuda'], default: 'auto', help: 'what to build for: auto is CUDA when the CUDA toolkit (nvcc) and an NVIDIA GPU are found, else the CPU', sources: ['flag'], commands: ['setup'] },
  // Output of every command.
  { key: 'quiet', flag: '--quiet', short: '-q', type: 'boolean', default: false, help: 'no progress output', sources: ['flag'], commands: runLike },
  { key: 'json', flag: '--json', type: 'boolean', default: false, help: 'print the result as JSON on stdout, for scripts', sources: ['flag'], commands: [...runLike, 'jobs', 'status', 'optimize', 'report', 'bench', 'ps'] },
  // `batch report` and `batch bench`.
  { key: 'html', flag: '--html', valueName: 'file.html', type: 'string', help: 'also write the report as one self-contained HTML page with charts (nothing fetched from the network)', sources: ['flag'], commands: ['report'] },
  { key: 'server', flag: '--server', valueName: 'url', type: 'string', help: 'bench a running model server; without it a managed server runs the model given, or the default model', sources: ['flag'], commands: ['bench'] },
  { ...serverType, sources: ['flag'], commands: ['bench'] },
  { ...apiKeyEnv, sources: ['flag'], commands: ['bench'] },
  { key: 'model', flag: '--model', valueName: 'path', type: 'string', defaultText: 'the default model', help: 'bench this GGUF model on a managed server', sources: ['flag'], commands: ['bench'] },
  { key: 'workers', flag: '--workers', short: '-w', valueName: 'n', type: 'count', min: 1, defaultText: "the server's slots, else saved advice, else 4", help: 'requests in flight at once in the pool phase', sources: ['flag', 'advice'], commands: ['bench'] },
  { key: 'loads', flag: '--loads', valueName: 'n', type: 'count', min: 1, default: 3, help: 'cold starts of a managed model to time; a running server cannot be made cold', sources: ['flag'], commands: ['bench'] },
  { key: 'requests', flag: '--requests', valueName: 'n', type: 'count', min: 1, default: 16, help: 'prompts sent one at a time, then the same through the pool', sources: ['flag'], commands: ['bench'] },
  { key: 'maxTokens', flag: '--max-tokens', valueName: 'n', type: 'count', min: 1, default: 32, help: 'tokens each bench prompt generates at most', sources: ['flag'], commands: ['bench'] },
  { key: 'job', flag: '--job', valueName: 'name', type: 'string', default: 'bench', help: 'the job the result is saved in, for `batch report`', sources: ['flag'], commands: ['bench'] },
] as const satisfies readonly SettingRow[];

type Row = (typeof settingsTable)[number];

/** The value type of a row. */
type ValueOf<R extends Row> = R extends { readonly type: 'choice'; readonly choices: readonly (infer C)[] }
  ? C
  : R['type'] extends 'list'
    ? readonly string[]
    : R['type'] extends 'boolean'
      ? boolean
      : R['type'] extends 'string' | 'keep-alive'
        ? string
        : number;

/** The rows command `C` takes (distributes over the union of rows). */
type RowsOf<C extends CommandName, R extends Row = Row> = R extends Row ? (C extends R['commands'][number] ? R : never) : never;

/** The values given to command `C` (by flags, or by the job and advice): each may be missing. */
export type GivenSettings<C extends CommandName> = { readonly [R in RowsOf<C> as R['key']]?: ValueOf<R> };

/** The settings a job remembers: the table's rows with the `job` source, as last given. */
export type JobSettings = GivenSettings<'run'>;

/** Command `C`'s settings after defaults: the rows with a table default are always there. */
export type Settings<C extends CommandName> = GivenSettings<C> & {
  readonly [R in RowsOf<C> as R extends { readonly default: unknown } ? R['key'] : never]-?: ValueOf<R>;
};

/** The rows of one command, in table order. */
export function settingRowsOf(command: CommandName): readonly SettingRow[] {
  return settingsTable.filter((row) => (row.commands as readonly CommandName[]).includes(command));
}

/** The row of `key` for `command`. */
export function settingRow(command: CommandName, key: string): SettingRow {
  const row = settingRowsOf(command).find((candidate) => candidate.key === key);
  if (row === undefined) throw new Error(`settings table: no setting "${key}" for \`batch ${command}\``);
  return row;
}

/** `command`'s defaults from the table. */
export function settingDefaults<C extends CommandName>(command: C): Partial<Settings<C>> {
  const defaults: Record<string, unknown> = {};
  for (const row of settingRowsOf(command)) if (row.default !== undefined) defaults[row.key] = row.default;
  return defaults as Partial<Settings<C>>;
}

/** The default of one setting, typed. */
export function settingDefault<C extends CommandName, K extends keyof Settings<C>>(command: C, key: K): Settings<C>[K] {
  const value = settingRow(command, key as string).default;
  if (value === undefined) throw new Error(`settings table: "${String(key)}" of \`batch ${command}\` has no default`);
  return value as Settings<C>[K];
}
