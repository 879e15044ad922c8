import os from 'node:os';
import path from 'node:path';

/**
 * What every CLI test runs with, spawned or in-process: CI (no TTY progress), no model download,
 * and no llama-server from the build cache, so that a test that means the embedded server gets it
 * on a machine where `npm run llama-server` has run. Tests that want llama-server name it. The
 * code cache of batch's bundles (src/cli/load-bundle.ts) goes to a folder of the tests', not the
 * user's ~/.cache.
 */
export const cliTestEnv: Readonly<Record<string, string>> = {
  CI: 'true',
  BATCH_OFFLINE: '1',
  BATCH_LLAMA_CPP_DIR: path.join(os.tmpdir(), 'batch-tests-have-no-llama-cpp-cache'),
  BATCH_CODE_CACHE_DIR: path.join(os.tmpdir(), 'batch-tests-code-cache'),
};
