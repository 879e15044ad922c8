import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, visitInChromium } from '../helpers/chromium.js';
import { fakeGpuName, hostileModel, nightServiceMs, runReportNight, type ReportNight } from '../helpers/report-night.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { repoRoot } from '../helpers/sim-process.js';
import { pollUntil } from '../helpers/poll-until.js';
import { startCliInProcess } from '../helpers/run-cli-in-process.js';
import { writePrompts } from '../helpers/write-prompts.js';
import { startSimServer } from '../sim/sim-server.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { connectionOf } from '../../src/store/connection-of.js';
import { jobDbPath } from '../../src/store/job-paths.js';

let dir: string;
let night: ReportNight;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-cli-report-'));
  // The run's own sampler every 0.1 s, reading a test stand-in nvidia-smi (this machine has no GPU).
  night = await runReportNight({ dir, prompts: 600, sampleEvery: 0.1, fakeGpu: true });
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The charts every report has, each of which must draw its data for this night. */
const charts = ['throughput', 'tokens', 'in-flight', 'queued', 'latency', 'ttft', 'time-split', 'memory', 'gpu'];

describe('batch report', () => {
  it('agrees with what the servers recorded, per server, and prints the tables', async () => {
    expect(night.runCode).toBe(4);
    const json = await runCliInProcess(['report', night.job, '--json'], { env: { BATCH_HOME: night.home } });
    expect(json.code, json.stderr).toBe(0);
    const data = JSON.parse(json.stdout);
    // Every request the servers received is one finished prompt (retries are off), per server.
    for (const [i, url] of night.servers.entries()) {
      const group = data.perServer.find((g: { key: string }) => g.key === url);
      expect(group.requests).toBe(night.requests[i]);
      expect(group.requests - group.failed).toBe(night.completed[i]);
    }
    expect(data.stats.counts.done).toBe(night.completed[0]! + night.completed[1]!);
    expect(data.failuresByCode.map((f: { code: string }) => f.code).sort()).toEqual(['MODEL_NOT_FOUND', 'SERVER_ERROR']);
    // The slow server's median is at least its service time.
    expect(data.perServer.find((g: { key: string }) => g.key === night.servers[1]).latencyMs.p50).toBeGreaterThanOrEqual(nightServiceMs[1]);
    expect(data.timeSplit.promptMs).toBeGreaterThan(0);
    expect(data.warning).toMatch(/GPU sat under 50% .* likely /);

    // The samples are the run sampler's: at the start (all 601 prompts queued), every 0.1 s (the
    // servers' service times make the run last over a second), and at the end (the run added up).
    // Each GPU figure is one answer of the stand-in nvidia-smi, and every sample has the memory.
    const samples = data.samples as { done: number; failed: number; queued: number; inFlight: number; gpus: unknown[] }[];
    expect(data.sampleCount).toBe(samples.length);
    expect(samples.length).toBeGreaterThanOrEqual(4);
    expect(samples[0]).toMatchObject({ done: 0, failed: 0, queued: 601, inFlight: 0 });
    expect(samples.at(-1)).toMatchObject({ done: data.stats.counts.done, failed: data.stats.counts.failed, queued: 0, inFlight: 0 });
    expect(data.series.source).toBe('samples');
    expect(data.memory.samples).toBe(samples.length);
    expect(night.gpuReadings).toBeGreaterThanOrEqual(2);
    expect(data.gpu).toMatchObject({ samples: night.gpuReadings, names: [fakeGpuName] });
    expect(samples.filter((s) => s.gpus.length > 0)).toHaveLength(night.gpuReadings);

    const text = await runCliInProcess(['report', night.job], { env: { BATCH_HOME: night.home } });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("Per model (rates over each one's own span, first request to last answer)");
    expect(text.stdout).toContain('Per server (rates over');
    // The job's rates say what they are over: its time on the clock since the run started.
    expect(text.stdout).toMatch(/^throughput +[\d.]+ req\/s, [\d.]+ completion tokens\/s over \S+ since the run started \(start-up included\)$/m);
    expect(text.stdout).toContain(night.servers[1]);
    expect(text.stdout).toMatch(/Failures by code[\s\S]*SERVER_ERROR/);
    // 600 prompts are too few to tell memory growth per 1,000 from the garbage collector's noise.
    expect(text.stdout).toMatch(/memory +RSS .* at end$/m);
    expect(text.stdout).not.toContain('per 1,000 prompts');
    expect(text.stdout).toMatch(/GPU +mean \d+% utilisation/);
  });

  it('batch status and the run summary show the short form: per model, per server, failures by code, memory, GPU and the warning', async () => {
    const summary = JSON.parse(night.runStdout);
    // The run's rate counts what the job's and each server's count (answered or failed), over its time sending.
    expect(summary.requestsPerSecond).toBeCloseTo(((summary.succeeded + summary.failedThisRun) / summary.wallMs) * 1000, 6);
    expect(summary.insights.perServer.map((g: { key: string }) => g.key).sort()).toEqual([...night.servers].sort());
    const status = await runCliInProcess(['status', night.job], { env: { BATCH_HOME: night.home } });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^throughput +[\d.]+ req\/s, [\d.]+ completion tokens\/s over \S+ since the run started \(start-up included\)$/m);
    expect(status.stdout).toMatch(/^per model \(rates over each one's own span, first request to last answer\)\n {2}\(default model\) +600 req/m);
    expect(status.stdout).toMatch(/^per server \(rates over .*\)\n {2}http:\/\/127\.0\.0\.1:\d+ +\d+ req \(\d+ failed\) +[\d.]+ req\/s +[\d.]+ tok\/s +p50 \S+ p95 \S+ p99 \S+ +ttft p50 \S+/m);
    expect(status.stdout).toMatch(/^failures {4}SERVER_ERROR \d+, MODEL_NOT_FOUND 1$/m);
    expect(status.stdout).toMatch(/^memory {6}RSS /m);
    expect(status.stdout).toMatch(new RegExp(`^GPU {9}mean \\d+% utilisation over ${night.gpuReadings} sample\\(s\\) \\(Test stand-in GPU \\(fake nvidia-smi\\)\\)$`, 'm'));
    expect(status.stdout).toMatch(/^warning {5}the GPU sat under 50%/m);
    const json = await runCliInProcess(['status', night.job, '--json'], { env: { BATCH_HOME: night.home } });
    expect(JSON.parse(json.stdout).insights.gpu.samples).toBe(night.gpuReadings);
  });

  it('writes one self-contained page whose every chart draws its data, escapes the database, and fetches nothing', async () => {
    const html = path.join(dir, 'report.html');
    const result = await runCliInProcess(['report', night.job, '--html', html], { env: { BATCH_HOME: night.home } });
    expect(result.code, result.stderr).toBe(0);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'`);
    expect(page).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(page).toContain('&lt;img src=&quot;http://report-leak.invalid');
    const chromium = findChromium();
    if (chromium === undefined) {
      console.log('SKIP: chromium is not installed: the HTML report was not opened in a browser (`.ci/run` installs it)');
      return;
    }
    const outDir = path.join(repoRoot, '.tmp', 'test-output');
    mkdirSync(outDir, { recursive: true });
    const screenshot = path.join(outDir, 'report.png');
    rmSync(screenshot, { force: true });
    const visit = await visitInChromium(chromium, html, { screenshot });
    expect(visit.requests).toEqual([]);
    // The browser does report what a page fetches: the same visit of a page with one remote image.
    const control = path.join(dir, 'control.html');
    writeFileSync(control, '<!doctype html><title>control</title><img src="http://report-leak.invalid/x.png">');
    expect((await visitInChromium(chromium, control)).requests).toEqual([expect.stringContaining('report-leak.invalid')]);
    // The hostile model name is text in the page, never an element.
    expect(visit.dom).toContain(hostileModel.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
    expect(visit.dom).not.toMatch(/<img/i);
    expect(visit.dom).not.toMatch(/<[a-z][^<>]*\s(src|href)=/i);
    for (const id of charts) {
      const figure = new RegExp(`<figure class="chart" id="${id}" data-chart="${id}" data-points="(\\d+)">([\\s\\S]*?)</figure>`).exec(visit.dom);
      expect(figure, `chart ${id} drew nothing`).not.toBeNull();
      expect(Number(figure![1])).toBeGreaterThan(0);
      const marks = figure![2]!.match(/<(circle|rect)[^>]*class="mark"/g) ?? [];
      expect(marks.length, `chart ${id} has no data marks`).toBeGreaterThan(0);
      expect(figure![2]).toMatch(/<ul class="legend">/);
    }
    expect(existsSync(screenshot)).toBe(true);
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
  }, 240_000);

  it('reports a job another process is running, read-only, without disturbing it', async () => {
    const sim = await startSimServer({ slots: 2, serviceMs: 15 });
    try {
      const file = path.join(dir, 'live.jsonl');
      writePrompts(file, 120, 'live');
      const home = path.join(dir, 'home-live');
      const run = startCliInProcess(['run', file, '--job', 'live', '--server', sim.url, '--workers', '2'], { env: { BATCH_HOME: home } });
      const store = () => CheckpointStore.open({ path: jobDbPath(home, 'live'), readonly: true });
      await pollUntil(() => {
        try {
          const s = store();
          try {
            const job = s.getJob('live');
            return job !== undefined && s.countByStatus(job.id).done >= 20;
          } finally {
            s.close();
          }
        } catch {
          return false;
        }
      }, '20 prompts of the live job done');
      const html = path.join(dir, 'live.html');
      const report = await runCliInProcess(['report', 'live', '--html', html], { env: { BATCH_HOME: home } });
      expect(report.code, report.stderr).toBe(0);
      expect(report.stdout).toMatch(/job +live \(running\)/);
      expect(readFileSync(html, 'utf8')).toContain('data-chart="throughput" data-points="');
      const finished = await run.done;
      expect(finished.code, finished.stderr).toBe(0);
      expect(sim.stats().requests).toBe(120);
      // The run's own summary carries the short form too.
      expect(finished.stdout).toMatch(/^ {2}throughput: [\d.]+ req\/s, [\d.]+ completion tokens\/s \(\d+ tokens\) over \S+ of sending \(start-up excluded\)$/m);
      expect(finished.stdout).toMatch(/^ {2}per server \(rates over .*\)\n {4}http:\/\/127\.0\.0\.1:\d+ +120 req +[\d.]+ req\/s/m);
      expect(finished.stdout).toMatch(/^ {2}loads {7}0 model load\(s\), 100% of prompts served without a load$/m);
    } finally {
      await sim.close();
    }
  });

  it('exits 2 with JOB_EMPTY for a job that holds no prompts', async () => {
    const home = path.join(dir, 'home-empty');
    const store = CheckpointStore.open({ path: jobDbPath(home, 'empty') });
    store.openJob({ name: 'empty', config: {}, inputFingerprint: 'f' });
    store.close();
    const result = await runCliInProcess(['report', 'empty'], { env: { BATCH_HOME: home } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^batch: error \[JOB_EMPTY\]: job "empty" .* holds no prompts yet/);
  });

  it('exits 3 naming the upgrade for a database written by a newer batch', async () => {
    const home = path.join(dir, 'home-newer');
    const store = CheckpointStore.open({ path: jobDbPath(home, 'newer') });
    store.openJob({ name: 'newer', config: {}, inputFingerprint: 'f' });
    connectionOf(store).prepare('INSERT INTO migrations (name, applied_at) VALUES (?, ?)').run('999_from_the_future', Date.now());
    store.close();
    const result = await runCliInProcess(['report', 'newer', '--html', path.join(dir, 'newer.html')], { env: { BATCH_HOME: home } });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^batch: error \[STORE_UNAVAILABLE\]: .*written by a newer version of batch \(migrations 999_from_the_future\); upgrade batch/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(dir, 'newer.html'))).toBe(false);
  });

  it('exits 2 when --html names a folder that does not exist, before writing anything', async () => {
    const result = await runCliInProcess(['report', night.job, '--html', path.join(dir, 'no-such-folder', 'r.html')], { env: { BATCH_HOME: night.home } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/cannot write --html .*no-such-folder.*ENOENT/);
  });

  it('exits 2 with JOB_NOT_FOUND for an unknown job', async () => {
    const result = await runCliInProcess(['report', 'no-such-job'], { env: { BATCH_HOME: night.home } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^batch: error \[JOB_NOT_FOUND\]: no job "no-such-job".*batch jobs/);
  });
});
