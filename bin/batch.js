#!/bin/sh
":" //; case "$1" in run|resume) exec node --max-semi-space-size=4 --heap-growing-percent=50 "$0" "$@";; esac; exec node "$0" "$@"
// Run as a program (the npm bin link), /bin/sh reads the line above and replaces itself with node
// (exec: the same process, no second one); node reads that line as a string and a comment. For
// `run` and `resume` node starts with heap settings that keep a long run's V8 heaps small
// (BENCHMARKS.md, "What `batch` itself costs"): the young generation at 8 MB instead of 32 MB,
// and a full collection once the old generation is 1.5x what survived the last one. They are set
// at start, as Node supports, never changed at run time. They cost start-up: with any V8 flag on
// its command line, node compiles the built-in modules it loads after start without their code
// cache (~14 ms of `--help`, ~20-40 ms of a run's start), so other commands start without them.
// `node bin/batch.js` runs with V8's defaults, and works the same.
// `run` and `resume` load the CLI as one file that esbuild bundles at build time (dist/bundle/,
// scripts/build-bundle.mjs), compiled with a V8 code cache that the first run writes
// (src/cli/load-bundle.ts): reading, resolving and compiling ~200 modules one by one was most of
// the time from spawn to a run's first request. The other commands load dist/cli/ module by
// module, as the library does: `batch --help` needs about 15 modules, far fewer bytes than the bundle.
const bundled = process.argv[2] === 'run' || process.argv[2] === 'resume';
const { main } = bundled ? (await import('../dist/cli/load-bundle.js')).loadBundle() : await import('../dist/cli/main.js');

await main();
