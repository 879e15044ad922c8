import path from 'node:path';
import { quoteForShell } from '../job/resume-command.js';
import { parseServersFile } from '../routing/parse-servers-file.js';

/** How a run ended, as `--on-finish` is told it (BATCH_OUTCOME). */
export type RunOutcome = 'done' | 'failed' | 'interrupted' | 'deadline' | 'servers-down' | 'error';

/** What `--on-finish` is told of the run that ended. */
export interface OnFinishFacts {
  readonly job: string;
  readonly outcome: RunOutcome;
  /** The exit code `batch` ends with. */
  readonly exitCode: number;
  /** The job's counts after the run; absent when the job database could not be read. */
  readonly counts?: { readonly done: number; readonly failed: number; readonly pending: number; readonly total: number };
  /** The output file, absolute. */
  readonly output: string;
  /** The job database, absolute. */
  readonly database: string;
  /** Where `batch report <job>` looks without --db (`<batch home>/<job>.sqlite`). */
  readonly defaultDatabase: string;
}

/** The API-key variables a run used, so that none reaches `--on-finish`. */
export interface KeyVariables {
  /** `--api-key-env`, given or remembered. */
  readonly apiKeyEnv?: string;
  /** `--servers`: its entries' `apiKeyEnv` names are keys too. */
  readonly serversFile?: string;
  readonly cwd: string;
}

/** A variable named like an API key (`OPENAI_API_KEY`, `MY_APIKEY`): never passed on, whatever run used it. */
const keyLike = /API_?KEY/i;

/** The names of the variables that hold the run's API keys. */
export function keyVariableNames(keys: KeyVariables): Set<string> {
  const names = new Set(['OPENAI_API_KEY']);
  if (keys.apiKeyEnv !== undefined) names.add(keys.apiKeyEnv);
  if (keys.serversFile !== undefined) {
    try {
      for (const server of parseServersFile(path.resolve(keys.cwd, keys.serversFile))) if (server.apiKeyEnv !== undefined) names.add(server.apiKeyEnv);
    } catch {
      // A servers file that cannot be read now sent nothing with its keys; the name rule still holds.
    }
  }
  return names;
}

/**
 * The environment `--on-finish` runs with: `batch`'s own (PATH, HOME, DISPLAY, a webhook URL the
 * user exported) less every variable holding one of the run's API keys and every variable named
 * like one, plus the BATCH_* facts of the run.
 */
export function onFinishEnv(parent: Readonly<Record<string, string | undefined>>, facts: OnFinishFacts, keys: KeyVariables): Record<string, string> {
  const drop = keyVariableNames(keys);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !drop.has(name) && !keyLike.test(name)) env[name] = value;
  }
  const report = ['batch', 'report', facts.job];
  if (facts.database !== facts.defaultDatabase) report.push('--db', facts.database);
  const count = (key: 'done' | 'failed' | 'pending' | 'total'): string => (facts.counts === undefined ? '' : String(facts.counts[key]));
  return {
    ...env,
    BATCH_JOB: facts.job,
    BATCH_OUTCOME: facts.outcome,
    BATCH_EXIT_CODE: String(facts.exitCode),
    BATCH_DONE: count('done'),
    BATCH_FAILED: count('failed'),
    BATCH_PENDING: count('pending'),
    BATCH_TOTAL: count('total'),
    BATCH_OUTPUT: facts.output,
    BATCH_DATABASE: facts.database,
    BATCH_REPORT_COMMAND: [...report.map(quoteForShell), '--html', quoteForShell(`${facts.job}.html`)].join(' '),
  };
}
