import { execFileSync } from 'node:child_process';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HistogramTally } from '../../src/reporting/histogram-tally.js';
import { LabelTally } from '../../src/reporting/label-tally.js';
import { tallyCounter, tallyGauge, tallyHistogram } from '../../src/reporting/tally-metrics.js';

const buckets = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Observations by model: on and between the bounds, below the first, above the last, repeated. */
const observations: ReadonlyArray<readonly [string, number]> = [
  ['llama', 0.012], ['qwen', 0.05], ['llama', 0.05], ['llama', 0.0500001], ['qwen', 301], ['llama', 7.25],
  ['llama', 0.3], ['phi "mini"', 1e-9], ['qwen', 0.1], ['llama', 299.99], ['llama', 0.3], ['qwen', 0], ['phi "mini"', 42],
  ...Array.from({ length: 200 }, (_, i) => [['llama', 'qwen', 'phi "mini"'][i % 3]!, ((i * 7919) % 1000) / 97] as const),
];

/** Two registries with the same default labels: one for prom-client's own metric, one for the tally's. */
function registries(): [Registry, Registry] {
  return [new Registry(), new Registry()].map((registry) => {
    registry.setDefaultLabels({ job: 'night' });
    return registry;
  }) as [Registry, Registry];
}

function hasPromtool(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v promtool'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('metrics handed to prom-client from tallies at each scrape', () => {
  it('expose a histogram exactly as a prom-client Histogram fed the same observations (fails if an upgrade changes its internals)', async () => {
    const [plain, tallied] = registries();
    const options = { name: 'batch_request_duration_seconds', help: 'Time from sending a prompt to its answer, by model', labelNames: ['model'] };
    const histogram = new Histogram({ ...options, buckets, registers: [plain] });
    const tally = new HistogramTally(buckets);
    tallyHistogram(tallied, tally, options);
    const series = new Map<string, ReturnType<HistogramTally['series']>>();
    const feed = (from: number, to: number): void => {
      for (const [model, seconds] of observations.slice(from, to)) {
        histogram.observe({ model }, seconds);
        let one = series.get(model);
        if (one === undefined) series.set(model, (one = tally.series({ model })));
        one.observe(seconds);
      }
    };
    // Before any observation, then twice as the counts grow: each scrape shows the totals so far.
    expect(await tallied.metrics()).toBe(await plain.metrics());
    feed(0, 7);
    expect(await tallied.metrics()).toBe(await plain.metrics());
    feed(7, observations.length);
    const text = await tallied.metrics();
    expect(text).toBe(await plain.metrics());
    expect(text).toContain('batch_request_duration_seconds_bucket{le="+Inf",job="night",model="qwen"}');
    expect(await tallied.getMetricsAsJSON()).toEqual(await plain.getMetricsAsJSON());
    // The same in OpenMetrics, the other format prom-client writes.
    plain.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    tallied.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(await tallied.metrics()).toBe(await plain.metrics());
  });

  it('leave out what prom-client refuses: a value that is not a finite number', () => {
    const series = new HistogramTally([1, 2]).series({ model: 'm' });
    series.observe(Number.NaN);
    series.observe(Number.POSITIVE_INFINITY);
    series.observe(1.5);
    expect([...series.counts]).toEqual([0, 1]);
    expect([series.sum, series.count]).toEqual([1.5, 1]);
  });

  it('expose counters and gauges exactly as prom-client ones given the same totals', async () => {
    const [plain, tallied] = registries();
    const counterOptions = { name: 'batch_requests_total', help: 'Requests that ended', labelNames: ['model', 'server', 'outcome'] };
    const gaugeOptions = { name: 'batch_requests_in_flight', help: 'Requests on the wire, by server', labelNames: ['server'] };
    const counter = new Counter({ ...counterOptions, registers: [plain] });
    const gauge = new Gauge({ ...gaugeOptions, registers: [plain] });
    const requests = new LabelTally();
    const inFlight = new LabelTally();
    tallyCounter(tallied, requests, counterOptions);
    tallyGauge(tallied, inFlight, gaugeOptions);
    const ok = requests.series({ model: 'm', server: 'http://127.0.0.1:1', outcome: 'ok' });
    const failed = requests.series({ model: 'm', server: 'http://127.0.0.1:2', outcome: 'SERVER_ERROR' });
    const one = inFlight.series({ server: 'http://127.0.0.1:1' });
    const two = inFlight.series({ server: 'http://127.0.0.1:2' });
    for (let i = 0; i < 5; i++) {
      ok.value += 1;
      counter.inc(ok.labels);
      one.value += 1;
      gauge.inc(one.labels);
    }
    failed.value += 2;
    counter.inc(failed.labels, 2);
    two.value += 1;
    gauge.inc(two.labels);
    two.value -= 1;
    gauge.dec(two.labels);
    expect(await tallied.metrics()).toBe(await plain.metrics());
  });

  it.runIf(hasPromtool())('pass promtool check metrics', async () => {
    const [, tallied] = registries();
    const tally = new HistogramTally(buckets);
    tallyHistogram(tallied, tally, { name: 'batch_request_duration_seconds', help: 'Time from sending a prompt to its answer, by model', labelNames: ['model'] });
    const series = new Map(['llama', 'qwen', 'phi "mini"'].map((model) => [model, tally.series({ model })]));
    for (const [model, seconds] of observations) series.get(model)!.observe(seconds);
    const out = execFileSync('promtool', ['check', 'metrics'], { input: await tallied.metrics(), encoding: 'utf8' });
    expect(out).toBe('');
  });
});
