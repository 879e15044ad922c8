/**
 * Failover time: two simulated llama-servers (4 slots each) in this process behind `batch`'s router
 * and scheduler; one crashes mid-run with its slots full. Prints, per service time, the time from
 * the crash to the answer of the first request it held, re-sent to the other server (the target is
 * under 1 s), and what was re-sent.
 * Usage: npm run bench:failover [-- --rounds 5 --prompts 200]
 */
import { parseArgs } from 'node:util';
import { measureFailover } from '../test/helpers/measure-failover.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, prompts: { type: 'string', default: '200' } } });
const rounds = Number(values.rounds);
const prompts = Number(values.prompts);

const rows: string[] = [];
for (const serviceMs of [10, 50, 200]) {
  const figures: number[] = [];
  let resent = 0;
  let held = 0;
  let failed = 0;
  for (let round = 0; round < rounds; round++) {
    const result = await measureFailover({ prompts, slots: 4, serviceMs, crashAt: 40 });
    if (result.done !== prompts || result.duplicates !== 0) throw new Error(`round ${round}: ${JSON.stringify(result)}`);
    figures.push(result.failoverMs);
    resent += result.retries;
    held += result.inFlightAtCrash;
    failed += result.failed;
  }
  figures.sort((a, b) => a - b);
  const median = figures[Math.floor(figures.length / 2)]!;
  const worst = figures.at(-1)!;
  rows.push(
    `| ${`${serviceMs} ms`.padEnd(7)} | ${String(rounds).padStart(6)} | ${median.toFixed(0).padStart(18)} | ${worst.toFixed(0).padStart(17)} | ${String(held).padStart(13)} | ${String(resent).padStart(7)} | ${String(failed).padStart(6)} |`,
  );
}
console.log('| service | rounds | median failover ms | worst failover ms | held at crash | re-sent | failed |');
console.log('|---------|--------|--------------------|-------------------|---------------|---------|--------|');
for (const row of rows) console.log(row);
