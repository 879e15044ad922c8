import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { findPrometheusBinary, startPrivatePrometheus, type PrivatePrometheus } from '../helpers/real-prometheus.js';
import { startCliInProcess, type InProcessCliRun } from '../helpers/run-cli-in-process.js';
import { repoRoot } from '../helpers/sim-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer, type SimServer } from '../sim/sim-server.js';

/**
 * The real Prometheus (Debian's package) scrapes a running `batch run --metrics-listen` every second
 * and evaluates the shipped alert rules, their stalled-job windows shrunk from minutes to seconds.
 */
const prometheusBinary = findPrometheusBinary('prometheus');
const job = 'night';
// Every answer takes 260–480 ms: inside one latency bucket (0.25, 0.5], so the histogram's median
// can only be told to that bucket's precision, and must lie in it.
const serviceMs = { min: 260, max: 480 };

let dir: string;
let sim: SimServer | undefined;
let run: InProcessCliRun | undefined;
let prometheus: PrivatePrometheus | undefined;
let hanging = false;

/** The shipped rules with BatchStalled's 10-minute window and 5-minute hold made seconds. */
function shrunkRules(): string {
  const shipped = readFileSync(path.join(repoRoot, 'examples', 'prometheus', 'batch-alerts.yml'), 'utf8');
  const shrunk = shipped.replaceAll('offset 10m', 'offset 2s').replaceAll('for: 5m', 'for: 1s');
  if (!shrunk.includes('offset 2s') || !shrunk.includes('for: 1s')) throw new Error('examples/prometheus/batch-alerts.yml no longer has BatchStalled\'s `offset 10m` and `for: 5m`: update this test');
  return shrunk;
}

/** Polls (bounded, 200 ms apart) until `check` returns a value; says what it waited for past that. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, tries = 150): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const found = await check();
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}\nprometheus log:\n${prometheus?.logTail() ?? ''}\nbatch output:\n${run?.output() ?? ''}`);
}

async function single(promql: string): Promise<number | undefined> {
  const [sample] = await prometheus!.query(promql);
  return sample === undefined || Number.isNaN(sample.value) ? undefined : sample.value;
}

const stalledState = async (): Promise<string | undefined> =>
  (await prometheus!.alerts()).find((a) => a.labels['alertname'] === 'BatchStalled' && a.labels['job'] === job)?.state;

beforeAll(async () => {
  if (prometheusBinary === undefined) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-prometheus-run-'));
  sim = await startSimServer({
    slots: 4,
    serviceMs: () => serviceMs.min + Math.random() * (serviceMs.max - serviceMs.min),
    script: () => (hanging ? 'hang' : undefined),
  });
  const input = path.join(dir, 'prompts.jsonl');
  writePrompts(input, 600, 'p');
  // A hung request times out after 2 s and is sent again; enough retries that none fails while hung.
  run = startCliInProcess(['run', input, '--server', sim.url, '--job', job, '--workers', '4', '--timeout', '2', '--retries', '20', '--metrics-listen', '127.0.0.1:0'], { env: { BATCH_HOME: path.join(dir, 'home') } });
  await run.waitFor(/Prometheus metrics of the run at (http:\/\/\S+)/);
  const target = new URL(/Prometheus metrics of the run at (http:\/\/\S+)/.exec(run.output())![1]!);
  prometheus = await startPrivatePrometheus(prometheusBinary, {
    rules: shrunkRules(),
    scrapeConfigs: `scrape_configs:\n  - job_name: batch\n    honor_labels: true\n    metrics_path: ${target.pathname}\n    static_configs:\n      - targets: ['${target.host}']\n`,
  });
});

afterAll(async () => {
  hanging = false;
  run?.hardStop();
  await run?.done;
  await prometheus?.stop();
  await sim?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('a real Prometheus scraping batch run --metrics-listen', () => {
  it('sees the answers and their latency, and its stalled-job alert fires while the server hangs and clears when it answers again', async () => {
    if (prometheusBinary === undefined) {
      console.log('SKIP: prometheus is not installed (Debian package prometheus): no real Prometheus scraped a run (`.ci/run` installs it)');
      return;
    }
    await waitFor('the batch target up, with the `job` label kept', () => single(`up{job="batch"} == 1 and on (instance) batch_prompts{job="${job}",state="done"} > 0`));

    // The median of the run's latency histogram, over the last scrapes: within the bucket of the service times.
    const median = await waitFor('a latency median', () => single(`histogram_quantile(0.5, sum by (le) (rate(batch_request_duration_seconds_bucket{job="${job}"}[5s])))`));
    expect(median).toBeGreaterThanOrEqual(0.25);
    expect(median).toBeLessThanOrEqual(0.5);
    // While it sends, the counter Prometheus holds is at most what the server has answered by now.
    const answeredNow = sim!.stats().completed;
    const okSoFar = (await single(`sum(batch_requests_total{job="${job}",outcome="ok"})`))!;
    expect(okSoFar).toBeGreaterThan(0);
    expect(okSoFar).toBeLessThanOrEqual(answeredNow);
    expect(await stalledState()).toBeUndefined();

    // The server stops answering: every request from now on hangs until batch gives up on it.
    hanging = true;
    await waitFor('BatchStalled firing', async () => ((await stalledState()) === 'firing' ? true : undefined));
    // Nothing was answered for seconds: the scraped counter, the job database and the server agree exactly.
    const answered = sim!.stats().completed;
    expect(await single(`sum(batch_requests_total{job="${job}",outcome="ok"})`)).toBe(answered);
    expect(await single(`batch_prompts{job="${job}",state="done"}`)).toBe(answered);
    const store = CheckpointStore.open({ path: path.join(dir, 'home', `${job}.sqlite`), readonly: true });
    try {
      expect(store.countByStatus(store.getJob(job)!.id).done).toBe(answered);
    } finally {
      store.close();
    }

    // It answers again: prompts finish, and the alert clears.
    hanging = false;
    await waitFor('BatchStalled cleared', async () => ((await stalledState()) === undefined ? true : undefined));
    // …because Prometheus saw prompts finish again, not because the run's series went away.
    expect(await single(`batch_prompts{job="${job}",state="done"}`)).toBeGreaterThan(answered);
    expect(await single('up{job="batch"}')).toBe(1);
    // Ctrl-C twice: the run ends interrupted, resumable.
    run!.hardStop();
    expect((await run!.done).code).toBe(ExitCode.Interrupted);
  });
});
