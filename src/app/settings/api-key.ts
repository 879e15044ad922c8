import { UsageError } from '../../errors.js';
import { isLoopback } from '../../backends/is-loopback.js';

/**
 * The API key for `url`, read from the environment: the variable `apiKeyEnv` names (which must
 * then be set), else `OPENAI_API_KEY` for a server that is not on this machine. Never stored or
 * printed; only the variable's name is remembered in the job.
 */
export function apiKeyFor(url: string, apiKeyEnv: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (apiKeyEnv !== undefined) return apiKeyFromVariable(apiKeyEnv, env, 'the key');
  return isLoopback(url) ? undefined : env.OPENAI_API_KEY || undefined;
}

/**
 * The key in the variable `--api-key-env` names, which must be set and non-empty; `what` says in
 * the fix what the key is for.
 */
export function apiKeyFromVariable(variable: string, env: Readonly<Record<string, string | undefined>>, what: string): string {
  const key = env[variable];
  if (key === undefined || key === '') {
    throw new UsageError(`--api-key-env ${variable}: the environment variable ${variable} is ${key === undefined ? 'not set' : 'empty'}; export it with ${what} or drop --api-key-env`);
  }
  return key;
}
