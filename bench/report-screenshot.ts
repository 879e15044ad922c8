/**
 * Makes README's screenshot of `batch report --html` from a real run: 3,000 prompts against two
 * simulated llama-servers (one four times slower, both answering some 500s), sampled by the run's
 * own sampler every 0.25 s, then the page in headless Chromium at 1280 px. Nothing is written
 * into the job database but what the run wrote, and no GPU is faked: on a machine without
 * `nvidia-smi` the GPU panel says it has no GPU samples.
 * `npm run build && npm run build:tools && node .build/bench/report-screenshot.js [out.png]`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findChromium, visitInChromium } from '../test/helpers/chromium.js';
import { runReportNight } from '../test/helpers/report-night.js';
import { runCliInProcess } from '../test/helpers/run-cli-in-process.js';

const out = path.resolve(process.argv[2] ?? 'docs/report.png');
const chromium = findChromium();
if (chromium === undefined) throw new Error('chromium is not installed');
const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-report-screenshot-'));
try {
  const night = await runReportNight({ dir, prompts: 3000, hostileModel: 'no-such-model', sampleEvery: 0.25 });
  const html = path.join(dir, 'report.html');
  const report = await runCliInProcess(['report', night.job, '--html', html], { env: { BATCH_HOME: night.home } });
  process.stdout.write(report.stdout);
  if (report.code !== 0) throw new Error(report.stderr);
  await visitInChromium(chromium, html, { screenshot: out, windowSize: '1280,2300' });
  process.stdout.write(`screenshot: ${out}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
