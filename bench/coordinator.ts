/**
 * `npm run bench:coordinator`: issue 23's table, what `batch` itself costs, every row beside its
 * peer measured in the same run. Runs the scripts that measure each row (built once, by the npm
 * script) with issue 23's goals, shows their tables, and ends with every `TARGET` line side by side:
 *   throughput   20k prompts at 0 ms vs a bare keep-alive node:http pool (goal >= 0.8x)
 *   efficiency   10k prompts, 32 slots x 50 ms, start-up included, vs wrk (>= 0.97x; skipped without wrk)
 *   memory       peak RSS at 100k prompts (< 80 MB), beside the 100-prompt run
 *   startup      `batch --help` vs `node -e 0` (<= 1.3x)
 *   one-prompt   a one-prompt job with --server, spawn to first request (<= 0.25 s)
 *   embedded     the embedded server vs the real llama-server on the engine-parity work (>= 0.8x;
 *                skipped without the llama-server of `batch setup llama-server`)
 * Usage: npm run bench:coordinator [-- --rows throughput,efficiency,memory,startup,one-prompt,embedded]
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findLlamaServer } from '../src/servers/server-launcher.js';
import { machine, printTable, runCollectingTargets, targetHeader, targetRow } from './bench-kit.js';

interface Row {
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  /** Why the row cannot be measured on this machine, if it cannot. */
  readonly missing?: () => string | undefined;
}

const allRows: readonly Row[] = [
  { name: 'throughput', script: 'throughput', args: ['--count', '20000', '--goal', '0.8'] },
  {
    name: 'efficiency',
    script: 'load-efficiency',
    args: ['--count', '10000', '--slots', '32', '--service-ms', '50'],
    missing: () => (existsSync('/usr/bin/wrk') ? undefined : 'no wrk at /usr/bin/wrk: apt-get install wrk'),
  },
  { name: 'memory', script: 'first-request', args: ['--small', '100', '--large', '100000', '--rss-goal-mb', '80'] },
  { name: 'startup', script: 'startup', args: [] },
  { name: 'one-prompt', script: 'one-prompt', args: [] },
  {
    name: 'embedded',
    script: 'llama-server',
    args: ['--prompts', '80', '--slots', '4', '--modes', 'managed,embedded'],
    missing: () => (findLlamaServer(process.env) === undefined ? 'no llama-server: `npm run llama-server` builds it' : undefined),
  },
];

const { values } = parseArgs({ options: { rows: { type: 'string', default: allRows.map((r) => r.name).join(',') } } });
const chosen = values.rows.split(',');
const unknown = chosen.filter((name) => !allRows.some((r) => r.name === name));
if (unknown.length > 0) {
  console.error(`bench/coordinator: --rows ${values.rows}: no row named ${unknown.join(', ')}; expected some of ${allRows.map((r) => r.name).join(',')}`);
  process.exit(2);
}

console.log(`bench/coordinator: issue 23, what batch itself costs; ${machine()}`);
const summary: string[][] = [];
for (const row of allRows.filter((r) => chosen.includes(r.name))) {
  const missing = row.missing?.();
  if (missing !== undefined) {
    console.log(`\n== ${row.name}: skipped, ${missing}`);
    summary.push([row.name, '-', '-', '-', '-', `skipped: ${missing}`]);
    continue;
  }
  console.log(`\n== ${row.name}: node .build/bench/${row.script}.js ${row.args.join(' ')}`);
  const { code, targets } = await runCollectingTargets(process.execPath, [`.build/bench/${row.script}.js`, ...row.args]);
  if (code !== 0) summary.push([row.name, '-', '-', '-', '-', `failed (exit ${code}): see above`]);
  else if (targets.length === 0) summary.push([row.name, '-', '-', '-', '-', 'skipped: see its output above']);
  for (const t of targets) summary.push(targetRow(t));
}
console.log(`\n== issue 23 targets, measured side by side; ended at ${machine()}`);
printTable(targetHeader, summary);
