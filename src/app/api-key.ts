import { UsageError } from '../errors.js';
import { isLoopback } from '../backends/is-loopback.js';

/**
 * The API key for `url`, read from the environment: the variable `apiKeyEnv` names (which must
 * then be set), else `OPENAI_API_KEY` for a server that is not on this machine. Never stored or
 * printed; only the variable's name is remembered in the job.
 */
export function apiKeyFor(url: string, apiKeyEnv: string | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (apiKeyEnv !== undefined) {
    const key = env[apiKeyEnv];
    if (key === undefined || key === '') {
      throw new UsageError(`--api-key-env ${apiKeyEnv}: the environment variable ${apiKeyEnv} is ${key === undefined ? 'not set' : 'empty'}; export it with the key or drop --api-key-env`);
    }
    return key;
  }
  return isLoopback(url) ? undefined : env.OPENAI_API_KEY || undefined;
}
