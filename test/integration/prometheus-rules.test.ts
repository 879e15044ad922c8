import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPrometheusBinary } from '../helpers/real-prometheus.js';
import { repoRoot } from '../helpers/sim-process.js';

const examples = path.join(repoRoot, 'examples', 'prometheus');
const promtool = findPrometheusBinary('promtool');

/** Runs promtool (bounded); returns its exit status and what it printed. */
function runPromtool(args: readonly string[], cwd = examples): { readonly status: number | null; readonly output: string } {
  const result = spawnSync(promtool!, args, { cwd, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('examples/prometheus', () => {
  it('the alert rules pass `promtool check rules` and their unit tests (`promtool test rules`)', () => {
    if (promtool === undefined) {
      console.log('SKIP: promtool is not installed (Debian package prometheus): the alert rules were not checked (`.ci/run` installs it)');
      return;
    }
    const check = runPromtool(['check', 'rules', 'batch-alerts.yml']);
    expect(check.output).toContain('SUCCESS: 6 rules found');
    expect(check.status).toBe(0);
    const test = runPromtool(['test', 'rules', 'batch-alerts.test.yml']);
    expect(test.output).toContain('SUCCESS');
    expect(test.status).toBe(0);
    for (const alert of ['BatchStalled', 'BatchFailureRateHigh', 'BatchAllServersDown', 'BatchGpuIdleWhilePromptsWait', 'BatchMemoryNearLimit', 'BatchTargetDown']) {
      expect(readFileSync(path.join(examples, 'batch-alerts.test.yml'), 'utf8')).toContain(`alertname: ${alert}`);
    }
  });

  it('the unit tests can fail: an alert that fires an evaluation later than they expect is caught', () => {
    if (promtool === undefined) {
      console.log('SKIP: promtool is not installed (Debian package prometheus): the rules\' unit tests were not tried against a changed rule');
      return;
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-prom-rules-'));
    try {
      copyFileSync(path.join(examples, 'batch-alerts.test.yml'), path.join(dir, 'batch-alerts.test.yml'));
      const rules = readFileSync(path.join(examples, 'batch-alerts.yml'), 'utf8');
      // BatchAllServersDown held 6 minutes instead of 3: not firing yet where the tests expect it.
      const changed = rules.replace('(batch_servers_all_down) == 1\n        for: 3m', '(batch_servers_all_down) == 1\n        for: 6m');
      expect(changed).not.toBe(rules);
      writeFileSync(path.join(dir, 'batch-alerts.yml'), changed);
      const test = runPromtool(['test', 'rules', 'batch-alerts.test.yml'], dir);
      expect(test.status).not.toBe(0);
      expect(test.output).toContain('alertname: BatchAllServersDown');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the example scrape config passes `promtool check config`, with honor_labels and the rules file', () => {
    if (promtool === undefined) {
      console.log('SKIP: promtool is not installed (Debian package prometheus): the example scrape config was not checked (`.ci/run` installs it)');
      return;
    }
    const config = readFileSync(path.join(examples, 'prometheus.yml'), 'utf8');
    expect(config).toMatch(/job_name: batch\n\s+# [^\n]*\n(\s+# [^\n]*\n)*\s+honor_labels: true/);
    const check = runPromtool(['check', 'config', 'prometheus.yml']);
    expect(check.output).toContain('SUCCESS: 6 rules found');
    expect(check.status).toBe(0);
  });
});
