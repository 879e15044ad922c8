import { fileURLToPath } from 'node:url';

/**
 * Path of a compiled sibling entry point (`process-reaper-main.js`, `embedded-server-main.js`).
 * Compiled, this module lives beside them (dist/servers/ or .build/src/servers/). Run from
 * source (vitest imports src/ directly), the .ts siblings cannot be started by plain node, so
 * the build in dist/servers/ is used.
 */
export function resolveCompiledScript(fileName: string): string {
  const here = import.meta.url;
  if (here.endsWith('.js')) return fileURLToPath(new URL(`./${fileName}`, here));
  return fileURLToPath(new URL(`../../dist/servers/${fileName}`, here));
}
