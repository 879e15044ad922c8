import { createRequire } from 'node:module';
import { loadBundle } from './load-bundle.js';

type Commander = typeof import('commander');

/**
 * commander for `batch --help` and the commands that load dist/cli/ module by module: the one
 * file scripts/build-bundle.mjs makes of it, compiled with a code cache (load-bundle.ts) and
 * without node:child_process until a subcommand is an executable (batch has none). Its ES module
 * wrapper would cost a parse of its entry on every start. Run from source (vitest), or from a
 * build without the bundle, it is required as it is. The bundle of `batch run` holds commander
 * itself instead (scripts/build-bundle.mjs replaces this module), so a run loads one copy.
 */
function loadCommander(): Commander {
  const bundle = new URL('../bundle/commander.js', import.meta.url);
  if (import.meta.url.endsWith('.js')) {
    try {
      return loadBundle<Commander>({ bundle: bundle.pathname });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return createRequire(import.meta.url)('commander') as Commander;
}

export const commander = loadCommander();
