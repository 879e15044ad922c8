import { ExitCode } from '../exit-code.js';
import { commander } from './commander.js';

const { Command, CommanderError } = commander;
type Command = import('commander').Command;
import type { CommandName } from '../app/settings/settings-table.js';
import type { CliIo } from './io.js';

const version = '0.1.0';

/** The exit codes as `--help` shows them; README's table says the same (a test keeps them equal). */
export const exitCodeHelp = `Exit codes: 0 all done, 1 a bug in batch, 2 usage or input error,
            3 server or database unavailable, 4 finished with failed prompts,
            5 export of unfinished prompts refused (--partial), 6 the deadline (--until,
            --for) came with prompts left (resumable), 130 interrupted (resumable).`;

/** One command's description and positional arguments; its flags come from the settings table. */
interface CommandSpec {
  readonly name: CommandName;
  readonly description: string;
  readonly argument?: { readonly syntax: string; readonly description: string };
}

const commands: readonly CommandSpec[] = [
  {
    name: 'run',
    description: 'send every prompt of the inputs (folders of .txt/.md, JSONL, OpenAI batch JSONL, globs, - for stdin), or of a --template over --data rows',
    argument: { syntax: '[inputs...]', description: 'prompt folders, files or globs' },
  },
  {
    name: 'resume',
    description: 'continue an interrupted job: done prompts are never sent again',
    argument: { syntax: '[job]', description: 'job name (default: the most recently active unfinished job)' },
  },
  { name: 'jobs', description: 'list jobs: state, done/total, failed, started, last activity' },
  { name: 'status', description: 'one job in detail: counts, throughput, latency percentiles, top errors', argument: { syntax: '<job>', description: 'job name (see `batch jobs`)' } },
  {
    name: 'export',
    description: "write a job's results as OpenAI batch output JSONL or CSV; a sharded job's shards (--shard) merged in input order",
    argument: { syntax: '<job>', description: 'job name (of a sharded job: without .shard-K-of-N)' },
  },
  {
    name: 'report',
    description: 'a job in tables per model and per server (throughput, latency, loads, memory, GPU, failures); --html writes a page with charts',
    argument: { syntax: '<job>', description: 'job name (see `batch jobs`); a job still running can be reported' },
  },
  {
    name: 'bench',
    description: 'time model loads (cold), warm latency one at a time, and the same prompts through the pool; saved for `batch report`',
  },
  {
    name: 'optimize',
    description: 'probe this machine and the models, and advise workers, slots, context and models to keep loaded',
    argument: { syntax: '[inputs...]', description: 'a prompt set: the models its prompts name are included' },
  },
  { name: 'up', description: 'start the daemon that keeps model servers warm between runs: every `batch run` in this batch home uses it' },
  { name: 'ps', description: 'the daemon: each model loaded (slots busy, served, idle, memory) and each run attached' },
  { name: 'down', description: 'stop the daemon and every model server it started, letting requests in flight finish (--grace, --now)' },
  { name: 'serve', description: 'run the embedded llama.cpp server (OpenAI-compatible, llama-server endpoints) in the foreground' },
  {
    name: 'setup',
    description: "build llama-server from node-llama-cpp's bundled llama.cpp source into the cache batch looks in (once per llama.cpp version)",
    argument: { syntax: '<what>', description: 'what to set up: llama-server' },
  },
];

/**
 * The command the command line names (`batch help run` names `run`), if any: the first word that
 * is not an option, since `batch` itself takes no option with a value.
 */
function chosenCommand(argv: readonly string[]): CommandName | undefined {
  const words = argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return commands.find((spec) => spec.name === name)?.name;
}

/** Runs one command with the flags the user gave; the positional argument as the command takes it. */
async function dispatch(name: CommandName, positional: string | string[] | undefined, command: Command, io: CliIo): Promise<number> {
  const { readSettingFlags } = await import('./setting-options.js');
  switch (name) {
    case 'run':
    case 'resume': {
      const { runCommand } = await import('./commands/run.js');
      const flags = readSettingFlags(command, name);
      return name === 'run'
        ? runCommand({ ...flags, inputs: (positional as string[] | undefined) ?? [] }, io)
        : runCommand({ ...flags, job: positional as string | undefined, resume: true, inputs: [] }, io);
    }
    case 'jobs': {
      const { jobsCommand } = await import('./commands/jobs.js');
      return jobsCommand(readSettingFlags(command, name), io);
    }
    case 'status': {
      const { statusCommand } = await import('./commands/status.js');
      return statusCommand({ ...readSettingFlags(command, name), job: positional as string }, io);
    }
    case 'export': {
      const { exportCommand } = await import('./commands/export.js');
      return exportCommand({ ...readSettingFlags(command, name), job: positional as string }, io);
    }
    case 'report': {
      const { reportCommand } = await import('./commands/report.js');
      return reportCommand({ ...readSettingFlags(command, name), job: positional as string }, io);
    }
    case 'bench': {
      const { benchCommand } = await import('./commands/bench.js');
      return benchCommand(readSettingFlags(command, name), io);
    }
    case 'optimize': {
      const { optimizeCommand } = await import('./commands/optimize.js');
      return optimizeCommand({ ...readSettingFlags(command, name), inputs: positional as string[] }, io);
    }
    case 'serve': {
      const { serveCommand } = await import('./commands/serve.js');
      return serveCommand(readSettingFlags(command, name), io);
    }
    case 'up': {
      const { upCommand } = await import('./commands/up.js');
      return upCommand(readSettingFlags(command, name), io);
    }
    case 'ps': {
      const { psCommand } = await import('./commands/ps.js');
      return psCommand(readSettingFlags(command, name), io);
    }
    case 'down': {
      const { downCommand } = await import('./commands/down.js');
      return downCommand(readSettingFlags(command, name), io);
    }
    case 'setup': {
      const { setupCommand } = await import('./commands/setup.js');
      return setupCommand({ ...readSettingFlags(command, name), target: positional as string }, io);
    }
  }
}

/**
 * Builds the command tree from the settings table and runs it. Commands are imported when chosen,
 * so `batch --help` never loads undici, SQLite or llama.cpp. Returns the exit code; errors are
 * thrown (see `reportError`), commander's own included, so each is printed once.
 */
export async function runProgram(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const program = new Command()
    .name('batch')
    .description('Run large prompt batches on your own persistent model servers, with checkpoints and resume.')
    .version(version)
    .exitOverride()
    // Errors are thrown and printed once by the caller, with their code; help goes to stdout.
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => undefined })
    .addHelpText('after', `\n${exitCodeHelp}\nState lives in ./checkpoints (or $BATCH_HOME).`);

  // Only the chosen command gets its flags (and loads the settings table): `batch --help` lists
  // commands, not flags, and starts as fast as commander allows.
  const chosen = chosenCommand(argv);
  const settingOptions = chosen === undefined ? undefined : await import('./setting-options.js');
  for (const spec of commands) {
    const command = program.command(spec.name).description(spec.description);
    if (spec.argument !== undefined) command.argument(spec.argument.syntax, spec.argument.description);
    if (spec.name === chosen) settingOptions?.addSettingOptions(command, spec.name);
    command.action(async (...args: unknown[]) => {
      exitCode = await dispatch(spec.name, spec.argument === undefined ? undefined : (args[0] as string | string[] | undefined), command, io);
    });
  }

  try {
    await program.parseAsync(argv as string[], { from: 'node' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.Ok;
      const command = commands.find((spec) => argv.includes(spec.name))?.name;
      const { UsageError } = await import('../errors.js');
      throw new UsageError(`${error.message.replace(/^error: /, '')}; run \`batch${command === undefined ? '' : ` ${command}`} --help\` for usage`);
    }
    throw error;
  }
  return exitCode;
}
