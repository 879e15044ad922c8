import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunMetrics } from '../../src/reporting/run-metrics.js';
import { findPrometheusBinary } from '../helpers/real-prometheus.js';
import { repoRoot } from '../helpers/sim-process.js';

const dashboardFile = path.join(repoRoot, 'examples', 'grafana', 'batch-dashboard.json');

interface Dashboard {
  readonly panels: ReadonlyArray<{ readonly title: string; readonly targets: ReadonlyArray<{ readonly expr: string }> }>;
  readonly templating: { readonly list: ReadonlyArray<{ readonly name: string; readonly query?: unknown }> };
}

/** PromQL words that are not metric names where they stand alone: operators and modifiers. */
const keywords = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'atan2', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects. Removed first: string literals, Grafana variables
 * (`$job`, `$__rate_interval`), label matchers `{…}`, ranges `[…]`, and the label lists of `by`,
 * `without`, `on`, `ignoring` and `group_left/right`; then every word followed by `(` is a function
 * or an aggregation, and what is left (keywords and numbers aside) names a metric.
 */
function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const word = match[0];
    const after = stripped.slice(match.index + word.length).trimStart();
    if (after.startsWith('(') || keywords.has(word.toLowerCase())) continue;
    // A duration's or number's letters (5m, 1e3) never start a word here: they follow a digit.
    if (match.index > 0 && /[\d.]/.test(stripped[match.index - 1]!)) continue;
    names.add(word);
  }
  return [...names];
}

/** Every PromQL expression of the dashboard: its panels' targets and its `label_values` variables' metrics. */
function expressionsOf(dashboard: Dashboard): Array<{ readonly where: string; readonly expr: string }> {
  const found = dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr })));
  for (const variable of dashboard.templating.list) {
    const query = JSON.stringify(variable.query ?? '');
    const labelValues = /label_values\(\s*([^,)]+),\s*(\w+)\s*\)/.exec(query);
    if (labelValues) found.push({ where: `variable ${variable.name}`, expr: labelValues[1]! });
  }
  return found;
}

/** The series names a RunMetrics exposition has: each metric's `# TYPE` line, a histogram's three series. */
async function exposedNames(): Promise<Set<string>> {
  const metrics = new RunMetrics({ job: 'dashboard', counts: () => ({ pending: 1, running: 0, done: 0, failed: 0, total: 1 }), memoryLimitBytes: 1 });
  const names = new Set<string>();
  for (const [, name, type] of (await metrics.exposition()).body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    else names.add(name!);
  }
  return names;
}

/** The dashboard's expressions that name a metric the exposition lacks, as `where: name`. */
function unknownMetrics(dashboard: Dashboard, exposed: Set<string>): string[] {
  return expressionsOf(dashboard).flatMap(({ where, expr }) => metricNamesOf(expr).filter((name) => !exposed.has(name)).map((name) => `${where}: ${name}`));
}

const readDashboard = (): Dashboard => JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;

describe('examples/grafana/batch-dashboard.json', () => {
  it('names only metrics that a run\'s exposition has, in every panel and variable', async () => {
    const dashboard = readDashboard();
    const exposed = await exposedNames();
    expect(exposed.has('batch_request_duration_seconds_bucket')).toBe(true);
    expect(unknownMetrics(dashboard, exposed)).toEqual([]);
    // Every panel queries something, and the panels the README promises are there.
    expect(dashboard.panels.every((panel) => panel.targets.length > 0 && panel.targets.every((t) => metricNamesOf(t.expr).length > 0))).toBe(true);
    const used = new Set(expressionsOf(dashboard).flatMap(({ expr }) => metricNamesOf(expr)));
    for (const name of ['batch_prompts', 'batch_prompts_finished_total', 'batch_requests_total', 'batch_request_duration_seconds_bucket', 'batch_time_to_first_token_seconds_bucket', 'batch_completion_tokens_total', 'batch_requests_in_flight', 'batch_prompts_queued', 'batch_server_up', 'batch_gpu_utilization_ratio', 'process_resident_memory_bytes', 'batch_process_memory_limit_bytes', 'batch_model_loads_total']) {
      expect(used, name).toContain(name);
    }
    // Templated on the batch job: every panel expression selects on it.
    expect(dashboard.templating.list.map((v) => v.name)).toContain('job');
    expect(expressionsOf(dashboard).filter(({ where, expr }) => where.startsWith('panel') && !expr.includes('job=~"$job"'))).toEqual([]);
  });

  it('tells metric names from functions, aggregations, label names, keywords and durations, and catches a name the exposition lacks', async () => {
    expect(metricNamesOf('histogram_quantile(0.95, sum by (job, le) (rate(batch_request_duration_seconds_bucket{job=~"$job",le!="+Inf"}[$__rate_interval])))')).toEqual(['batch_request_duration_seconds_bucket']);
    expect(metricNamesOf('sum without (server) (rate(a_total[5m] offset 1h)) / on (job) group_left (model) b and c > bool 0.5e3')).toEqual(['a_total', 'b', 'c']);
    expect(metricNamesOf('max by (job) (process_resident_memory_bytes{job="x"}) / batch_process_memory_limit_bytes')).toEqual(['process_resident_memory_bytes', 'batch_process_memory_limit_bytes']);
    // The same check on the dashboard with one name misspelled in one panel: reported, with where.
    const dashboard = readDashboard();
    const broken = JSON.parse(JSON.stringify(dashboard).replace('batch_prompts_queued{', 'batch_prompts_waiting{')) as Dashboard;
    expect(unknownMetrics(broken, await exposedNames())).toEqual(['panel "In flight vs queued": batch_prompts_waiting']);
  });

  it('every panel expression parses as PromQL (promtool check rules, each as a recording rule)', () => {
    const promtool = findPrometheusBinary('promtool');
    if (promtool === undefined) {
      console.log('SKIP: promtool is not installed (Debian package prometheus): the dashboard\'s expressions were not parsed (`.ci/run` installs it)');
      return;
    }
    const exprs = expressionsOf(readDashboard()).map(({ expr }) => expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.+'));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-dashboard-'));
    try {
      const rules = { groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr })) }] };
      writeFileSync(path.join(dir, 'rules.yml'), JSON.stringify(rules));
      const check = spawnSync(promtool, ['check', 'rules', 'rules.yml'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expect(`${check.stdout}${check.stderr}`).toContain(`SUCCESS: ${exprs.length} rules found`);
      expect(check.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
