/**
 * `npm run bench`: runs every benchmark of issue 11 that this checkout has (a `bench:*` script in
 * package.json), one after another, showing their output, then prints every target side by side
 * with its peer: the `TARGET {json}` lines the scripts print (bench/bench-kit.ts). A script that
 * prints none is listed with a pointer to its output above.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { printTable, root, runCollectingTargets, targetHeader, targetRow } from './bench-kit.js';

/** Issue 11's benchmarks, in the order of its targets. */
const scripts = ['bench:first-request', 'bench:memory-soak', 'bench:efficiency', 'bench:throughput', 'bench:startup'] as const;

const defined = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

const rows: string[][] = [];
for (const name of scripts) {
  if (defined[name] === undefined) {
    console.log(`\n== ${name}: skipped, no such script in package.json`);
    rows.push([name, '-', '-', '-', '-', 'skipped (not in this checkout)']);
    continue;
  }
  console.log(`\n== npm run ${name}`);
  const { code, targets } = await runCollectingTargets('npm', ['run', '--silent', name]);
  if (code !== 0) rows.push([name, '-', '-', '-', '-', `failed (exit ${code}): see above`]);
  else if (targets.length === 0) rows.push([name, '-', '-', '-', '-', 'see its output above']);
  for (const t of targets) rows.push(targetRow(t));
}
console.log('\n== issue 11 targets, measured side by side');
printTable(targetHeader, rows);
