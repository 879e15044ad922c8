/**
 * `npm run build:bundle` (the second half of `npm run build`): bundles tsc's output in dist/ into
 * the two files `batch run` and `batch resume` load (BENCHMARKS.md, "Start-up: what comes before
 * the first request"):
 *
 * - dist/bundle/batch.js: the CLI, CommonJS, which bin/batch.js compiles with a V8 code cache
 *   (src/cli/load-bundle.ts). Node 20 caches the compiled code of no module it loads, and
 *   compiling ~200 modules, or one large one, was most of a run's start. CommonJS because only a
 *   script (vm.Script), not an ES module, takes a code cache in Node 20.
 * - dist/bundle/result-writer-worker.js: the writer thread (an ES module; nothing waits for it).
 * - dist/bundle/commander.js: commander, which the other commands (`batch --help` first) load
 *   through src/cli/commander.ts, with a code cache too.
 *
 * Both live one folder below dist/, as every compiled module does, so that what they find by
 * path (the writer thread beside the CLI, the servers' entry points in dist/) resolves as from
 * tsc's modules. The packages a run needs at start are in the bundle (undici's Pool, commander,
 * p-queue), and so in its code cache. Packages stay outside where they must: native ones
 * (better-sqlite3, node-llama-cpp) and those a run loads only when it needs them
 * (systeminformation, cli-progress, and those loaded through `createRequire`: yaml, csv-parse,
 * ajv).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

// A checkout from before esbuild was a devDependency: say what to do rather than which import failed.
const { build } = await import('esbuild').catch((error) => {
  console.error(`scripts/build-bundle.mjs: esbuild is not installed (${error.code ?? error.message}): run \`npm install\`; it makes the bundle that \`batch run\` loads`);
  process.exit(1);
});

/**
 * src/cli/commander.ts requires commander (its CommonJS entry starts `batch --help` fastest); in
 * the bundle it is imported instead, so that the bundle holds the one copy a run loads.
 */
const bundleCommander = {
  name: 'bundle-commander',
  setup(bundler) {
    bundler.onLoad({ filter: /[\\/]dist[\\/]cli[\\/]commander\.js$/ }, () => ({
      contents: "import * as commander from 'commander';\nexport { commander };\n",
      loader: 'js',
      resolveDir: path.resolve('dist/cli'),
    }));
  },
};

/**
 * undici's client requires its HTTP/2 client when loaded, and so node:http2 and node:tls: 30
 * built-in modules, 12-25 ms of a run's start (with the run's heap flags node compiles them
 * without their code cache). batch never asks undici for HTTP/2 (no `allowH2`), so in the bundle
 * that require waits for the first HTTP/2 connection. Should undici change the line, the build
 * says so and bundles it as it is (slower, not wrong); test/e2e/bin-bundle.test.ts notices.
 */
const lazyUndiciHttp2 = {
  name: 'lazy-undici-http2',
  setup(bundler) {
    bundler.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const eager = "const connectH2 = require('./client-h2.js')";
      if (!text.includes(eager)) return { warnings: [{ text: `${args.path}: no \`${eager}\` to load lazily (undici changed): batch run loads node:http2 at start` }] };
      return { contents: text.replace(eager, "const connectH2 = (...args) => require('./client-h2.js')(...args)"), loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

/**
 * commander requires node:child_process when loaded, for subcommands that are executables of their
 * own (batch has none): in both bundles (commander's, which `batch --help` and the other commands
 * load, and the run's) it is required at the first such subcommand. 3-5 ms of `batch --help`, and,
 * with src/util/child-process.ts, ~17 ms of a run's start (the run's heap flags compile built-ins
 * without their code cache).
 */
const lazyCommanderChildProcess = {
  name: 'lazy-commander-child-process',
  setup(bundler) {
    bundler.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!text.includes(eager)) return { warnings: [{ text: `${args.path}: no \`${eager}\` to load lazily (commander changed): batch --help loads node:child_process` }] };
      const lazy = "let loadedChildProcess;\nconst childProcess = { get spawn() { return (loadedChildProcess ??= require('node:child_process')).spawn; } };";
      return { contents: text.replace(eager, lazy), loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  outdir: 'dist/bundle',
  external: ['better-sqlite3', 'node-llama-cpp', 'systeminformation', 'cli-progress'],
  // Fewer bytes to read and compile; names are kept (stack traces stay readable), and the source
  // map leads back to src/.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  // The packages' license comments go to a file beside the bundle (batch.js.LEGAL.txt); what
  // stays is ASCII, which load-bundle.ts reads as one-byte text.
  legalComments: 'linked',
  charset: 'ascii',
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: { batch: 'dist/cli/bundle-entry.js' },
  format: 'cjs',
  plugins: [bundleCommander, lazyUndiciHttp2, lazyCommanderChildProcess],
  // The modules were ES modules (strict, with import.meta); load-bundle.ts runs the bundle as
  // CommonJS, so it gets both back: strict mode, and import.meta from its own file.
  banner: {
    js: [
      '"use strict";',
      "const __batchImportMeta = { url: require('node:url').pathToFileURL(__filename).href, resolve: (specifier) => require('node:url').pathToFileURL(require.resolve(specifier)).href };",
    ].join('\n'),
  },
  define: { 'import.meta.url': '__batchImportMeta.url', 'import.meta.resolve': '__batchImportMeta.resolve' },
});

// commander alone, for the commands that load dist/cli/ module by module (src/cli/commander.ts):
// one file, compiled with its own code cache.
await build({
  ...common,
  entryPoints: { commander: 'dist/cli/commander-entry.js' },
  format: 'cjs',
  plugins: [lazyCommanderChildProcess],
});

await build({
  ...common,
  entryPoints: { 'result-writer-worker': 'dist/store/result-writer-worker.js' },
  format: 'esm',
  // Packages bundled from CommonJS call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __batchCreateRequire } from 'node:module'; const require = __batchCreateRequire(import.meta.url);" },
});
