import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** What a spawned CLI loaded: each module's URL (imported or required), and `builtin:<name>` for Node's built-ins. */
export interface ModuleRecorder {
  /** The environment that makes a spawned CLI (and its threads) record into `file`. */
  env(file: string): NodeJS.ProcessEnv;
  /** The lines recorded into `file`: module URLs and `builtin:<name>`. */
  read(file: string): string[];
}

/**
 * Writes, in `dir`, a preload that records every module the process imports (a resolve hook) or
 * requires (the CommonJS cache, at exit), and Node's built-in modules it loaded.
 */
export function writeModuleRecorder(dir: string): ModuleRecorder {
  const hooks = path.join(dir, 'hooks.mjs');
  writeFileSync(hooks, "import { appendFileSync } from 'node:fs';\nexport async function resolve(spec, ctx, next) { const r = await next(spec, ctx); appendFileSync(process.env.LOADED_FILE, r.url + '\\n'); return r; }\n");
  const preload = path.join(dir, 'preload.mjs');
  writeFileSync(
    preload,
    [
      "import { appendFileSync } from 'node:fs';",
      "import { createRequire, register } from 'node:module';",
      "import { pathToFileURL } from 'node:url';",
      `register(${JSON.stringify(pathToFileURL(hooks).href)});`,
      'const cache = createRequire(import.meta.url).cache;',
      "const builtins = () => process.moduleLoadList.filter((name) => name.startsWith('NativeModule ')).map((name) => 'builtin:' + name.slice(13));",
      "process.on('exit', () => appendFileSync(process.env.LOADED_FILE, [...Object.keys(cache).map((file) => pathToFileURL(file).href), ...builtins()].join('\\n') + '\\n'));",
      '',
    ].join('\n'),
  );
  return {
    env: (file) => {
      writeFileSync(file, '');
      return { LOADED_FILE: file, NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` };
    },
    read: (file) => readFileSync(file, 'utf8').split('\n'),
  };
}

/** The package names (folders under node_modules) among recorded lines. */
export function packagesIn(lines: readonly string[]): Set<string> {
  return new Set(lines.map((line) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line)?.[1]).filter((name): name is string => name !== undefined));
}
