import { fileURLToPath } from 'node:url';

/**
 * Path of a compiled entry point, named relative to src/ (`servers/process-reaper-main.js`,
 * `embedded/embedded-server-main.js`). Compiled, this module lives in dist/servers/ (or
 * .build/src/servers/), one folder below the root of the build; bundled into dist/bundle/batch.js
 * (what `batch run` loads), one folder below it too, so the entry points are tsc's in dist/. Run
 * from source (vitest imports src/ directly), the .ts entry points cannot be started by plain
 * node, so the build in dist/ is used.
 */
export function resolveCompiledScript(fromSrc: string): string {
  const here = import.meta.url;
  if (here.endsWith('.js')) return fileURLToPath(new URL(`../${fromSrc}`, here));
  return fileURLToPath(new URL(`../../dist/${fromSrc}`, here));
}
