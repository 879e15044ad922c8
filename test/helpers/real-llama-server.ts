import { findLlamaServer } from '../../src/servers/server-launcher.js';

/**
 * The real llama.cpp `llama-server` for integration tests: `BATCH_TEST_LLAMA_SERVER`, else the one
 * `batch` itself would use (PATH, then the build in the cache that `npm run llama-server` makes).
 * Undefined when there is none; the tests that need it then say so in one line and skip.
 */
export function realLlamaServer(): string | undefined {
  const explicit = process.env.BATCH_TEST_LLAMA_SERVER;
  if (explicit !== undefined && explicit !== '') return explicit;
  return findLlamaServer(process.env);
}

/** The line a suite prints when it skips for want of the real binary. */
export const NO_LLAMA_SERVER =
  'llama-server integration tests SKIPPED: no real llama-server here (build it once with `npm run llama-server`, or set BATCH_TEST_LLAMA_SERVER)';
