import { Command, CommanderError, Option } from 'commander';
import { ExitCode, UsageError } from '../errors.js';
import type { CliIo } from './io.js';
import { collect, parseSeconds, parseWholeNumber } from './parse-options.js';

const version = '0.1.0';

/** Flags shared by `run` and `resume`: where prompts go and how hard to push. */
function addRunOptions(command: Command): Command {
  return command
    .option('--server <url>', 'a running model server (repeatable; requests are balanced across them)', collect)
    .addOption(new Option('--server-type <type>', 'skip detection of the server flavour').choices(['openai', 'llama-server', 'ollama']))
    .option('--api-key-env <name>', 'environment variable holding the API key (default OPENAI_API_KEY for non-local URLs)')
    .option('--model <path>', 'a GGUF model for managed servers, as path or alias=path (repeatable); the first is the default', collect)
    .option('--models-dir <dir>', 'folder where model names used by prompts are looked up')
    .option('--llama-server <bin>', 'llama-server binary for managed servers (default: llama-server on PATH, else the embedded server)')
    .option('--llama-server-args <args>', 'extra arguments passed to every managed llama-server (one string)')
    .option('--max-models <k>', 'models kept loaded at once, least recently used out (default: saved advice, else 2)', parseWholeNumber('--max-models', 1))
    .option('--slots <n>', 'parallel sequences per managed server (default: saved advice, else 4)', parseWholeNumber('--slots', 1))
    .option('--ctx <n>', 'context size per slot of managed servers (default: saved advice, else 2048)', parseWholeNumber('--ctx', 16))
    .option('--threads <n>', 'CPU threads per managed server (default: physical cores - 1 for the embedded server; at most the physical cores)', parseWholeNumber('--threads', 1))
    .option('--gpu-layers <n>', 'layers offloaded to the GPU by managed llama-server (-ngl)', parseWholeNumber('--gpu-layers', 0))
    .option('--memory-budget <gib>', 'memory managed models may use, in GiB; larger models evict others first')
    .option('--startup-timeout <s>', 'how long a managed server may take to load its model, seconds (default 600)', parseSeconds('--startup-timeout'))
    .option('-w, --workers <n>', 'requests in flight at once (default: the servers\' slots, else saved advice, else 4)', parseWholeNumber('--workers', 1))
    .option('--timeout <s>', 'per-request timeout, seconds (default 600)', parseSeconds('--timeout'))
    .option('--retries <n>', 'retries of a failed request: connect errors, resets, timeouts, 5xx, 429 (default 5)', parseWholeNumber('--retries', 0))
    .option('--keep-alive <duration>', 'Ollama keep_alive sent with every request (default 30m)')
    .option('--max-wait <s>', 'longest a model\'s prompts wait while other models are served, seconds; 0 = no bound (default 1800)', parseSeconds('--max-wait'))
    .option('--grace <s>', 'after Ctrl-C, how long in-flight prompts may finish, seconds (default 30)', parseSeconds('--grace'))
    .option('--stream', 'stream answers to measure time to first token')
    .option('--db <path>', 'job database (default: checkpoints/<job>.sqlite, or $BATCH_HOME)')
    .option('--out <path>', 'output JSONL (default: beside the job database)')
    .option('--cache', 'reuse answers to identical deterministic prompts from earlier jobs in the same database')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the summary as JSON on stdout');
}

/**
 * Builds the command tree and runs it. Commands are imported when chosen, so `batch --help` never
 * loads undici, SQLite or llama.cpp. Returns the exit code.
 */
export async function runProgram(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const program = new Command()
    .name('batch')
    .description('Run large prompt batches on your own persistent model servers, with checkpoints and resume.')
    .version(version)
    .showHelpAfterError('(run `batch --help` for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .addHelpText(
      'after',
      `
Exit codes: 0 all done, 2 usage or input error, 3 server or database unavailable,
            4 finished with failed prompts, 130 interrupted (resumable).
State lives in ./checkpoints (or $BATCH_HOME).`,
    );

  addRunOptions(
    program
      .command('run')
      .description('send every prompt of the inputs (folders of .txt/.md, JSONL, OpenAI batch JSONL, globs, - for stdin)')
      .argument('<inputs...>', 'prompt folders, files or globs')
      .option('--job <name>', 'job name (default: derived from the inputs, so the same inputs continue the same job)'),
  ).action(async (inputs: string[], options: Record<string, unknown>) => {
    const { runCommand } = await import('./commands/run.js');
    exitCode = await runCommand({ ...options, inputs }, io);
  });

  addRunOptions(
    program
      .command('resume')
      .description('continue an interrupted job: done prompts are never sent again')
      .argument('[job]', 'job name (default: the most recently active unfinished job)')
      .option('--retry-failed', 'send the failed prompts again too'),
  ).action(async (job: string | undefined, options: Record<string, unknown>) => {
    const { runCommand } = await import('./commands/run.js');
    exitCode = await runCommand({ ...options, job, resume: true, inputs: [] }, io);
  });

  program
    .command('jobs')
    .description('list jobs: state, done/total, failed, started, last activity')
    .option('--db <path>', 'a job database outside checkpoints/')
    .option('--json', 'print JSON')
    .action(async (options: Record<string, unknown>) => {
      const { jobsCommand } = await import('./commands/jobs.js');
      exitCode = await jobsCommand(options, io);
    });

  program
    .command('status')
    .description('one job in detail: counts, throughput, latency percentiles, top errors')
    .argument('<job>', 'job name (see `batch jobs`)')
    .option('--db <path>', 'the job database, when not in checkpoints/')
    .option('--json', 'print JSON')
    .action(async (job: string, options: Record<string, unknown>) => {
      const { statusCommand } = await import('./commands/status.js');
      exitCode = await statusCommand({ ...options, job }, io);
    });

  program
    .command('export')
    .description("write a job's results as OpenAI batch output JSONL or CSV")
    .argument('<job>', 'job name')
    .option('--out <path>', 'file to write (default: stdout)')
    .addOption(new Option('--format <format>', 'output format (default: csv for an --out ending in .csv, else jsonl)').choices(['jsonl', 'csv']))
    .option('--failed', 'only the failed prompts')
    .option('--db <path>', 'the job database, when not in checkpoints/')
    .action(async (job: string, options: Record<string, unknown>) => {
      const { exportCommand } = await import('./commands/export.js');
      exitCode = await exportCommand({ ...options, job, failedOnly: options.failed === true }, io);
    });

  program
    .command('optimize')
    .description('probe this machine and the models, and advise workers, slots, context and models to keep loaded')
    .argument('[inputs...]', 'a prompt set: the models its prompts name are included')
    .option('--model <path>', 'a GGUF model to plan for, path or alias=path (repeatable)', collect)
    .option('--server <url>', 'the server `--measure` measures')
    .addOption(new Option('--server-type <type>', 'skip detection of the server flavour').choices(['openai', 'llama-server', 'ollama']))
    .option('--api-key-env <name>', 'environment variable holding the API key of --server')
    .option('--hardware <profile.json>', 'plan for another machine: a profile shaped like `batch optimize --json`\'s "hardware"')
    .option('--ctx <n>', 'context per slot wanted, capped by the models\' trained context (default 4096)', parseWholeNumber('--ctx', 1))
    .option('--measure', 'measure throughput at concurrency 1, 2, 4, … and recommend the knee')
    .option('--chart <file.svg>', 'with --measure: write the curve as an SVG chart')
    .option('--max-concurrency <n>', 'highest concurrency --measure tries (default 64)', parseWholeNumber('--max-concurrency', 1))
    .option('--requests-per-level <n>', 'requests --measure sends at each concurrency level (default max(4 × level, 16))', parseWholeNumber('--requests-per-level', 1))
    .option('--no-save', 'do not save the advice for `batch run`')
    .option('--json', 'print {hardware, models, plan, curve} as JSON')
    .action(async (inputs: string[], options: Record<string, unknown>) => {
      const { optimizeCommand } = await import('./commands/optimize.js');
      exitCode = await optimizeCommand({ ...options, models: options.model as string[], inputs }, io);
    });

  program
    .command('serve')
    .description('run the embedded llama.cpp server (OpenAI-compatible, llama-server endpoints) in the foreground')
    .option('--model <path>', 'GGUF model to serve (default: the default model)')
    .option('--host <host>', 'interface to listen on; anything but loopback exposes an unauthenticated server', '127.0.0.1')
    .option('--port <n>', 'TCP port; 0 picks a free one', parseWholeNumber('--port', 0), 8080)
    .option('--parallel <n>', 'requests generated at once (slots)', parseWholeNumber('--parallel', 1))
    .option('--ctx <n>', 'context size per slot (default: min(trained, 2048))', parseWholeNumber('--ctx', 0))
    .option('--threads <n>', 'CPU threads (default: physical cores - 1, at least 1; at most the physical cores)', parseWholeNumber('--threads', 1))
    .addOption(new Option('--gpu <mode>', 'use CUDA/Vulkan when available, or force the CPU').choices(['auto', 'off']).default('auto'))
    .action(async (options: Record<string, unknown>) => {
      const { serveCommand } = await import('./commands/serve.js');
      exitCode = await serveCommand(options, io);
    });

  try {
    await program.parseAsync(argv as string[], { from: 'node' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.Ok;
      // Commander already printed its message; this keeps the exit code documented.
      throw new UsageError(error.message.replace(/^error: /, ''));
    }
    throw error;
  }
  return exitCode;
}
