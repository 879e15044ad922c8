import type { BenchRecord } from '../store/benches.js';
import type { GroupStats } from '../store/group-stats.js';
import type { Histogram } from '../store/item-series.js';
import type { JobReportData } from './job-report.js';
import type { Percentiles } from '../store/job-stats.js';
import { sampleGpuPct } from './sample-insights.js';
import { escapeHtml } from './escape-html.js';
import { formatBytes, formatPct, groupRateTexts, jobSpanText } from './format-job-insights.js';
import { formatDuration } from './format-duration.js';
import { barChart, emptyChart, formatTick, lineChart, stackedBar, type LineSeries } from './svg-chart.js';

/** Colours told apart with the common colour blindnesses (Okabe–Ito). */
const palette = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#000000'] as const;

/**
 * The page allows nothing to be fetched: no script, no font, no image from anywhere; only its own
 * inline styles. A report mailed around can never call home, and never breaks offline.
 */
export const reportCsp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

// Charts are drawn 640 units wide and scale to their box: on a phone their text is drawn larger to stay readable.
const styles = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff}
body{margin:0 auto;max-width:1280px;padding:16px;line-height:1.4}
h1{font-size:1.5rem;margin:0 0 4px}h2{font-size:1.15rem;margin:24px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;margin:0 0 12px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:12px 0}
.kpi{border:1px solid #ddd;border-radius:6px;padding:8px}.kpi b{display:block;font-size:1.2rem}.kpi span{color:#555;font-size:.85rem}
.warning{background:#fff4e0;border-left:4px solid #D55E00;padding:8px 12px;margin:12px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,540px),1fr));gap:16px}
figure.chart{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px;min-width:0}
figure.chart figcaption{font-weight:600;margin-bottom:4px}
figure.chart svg{width:100%;height:auto;display:block}
figure.chart .none{color:#555;font-style:italic;padding:40px 8px;text-align:center;margin:0}
.grid{stroke:#e5e5e5}.axis{stroke:#333}.tick{font-size:12px;fill:#333}.label{font-size:13px;fill:#111}
.legend{list-style:none;padding:0;margin:6px 0 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.9rem}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:.9rem;min-width:100%}
th,td{border-bottom:1px solid #e5e5e5;padding:4px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.msg{overflow-wrap:anywhere;max-width:60ch}
.note{color:#555;font-size:.85rem}
@media (max-width:600px){body{padding:8px}.tick{font-size:22px}.label{font-size:22px}figure.chart{padding:4px}}
`;

const ms = (value: number): string => formatDuration(value);

function percentilesCell(p: Percentiles | null): string {
  return p === null ? '-' : `${ms(p.p50)} / ${ms(p.p95)} / ${ms(p.p99)}`;
}

/** An HTML table; every cell is escaped; `numeric` columns align right, `wrap` columns break long text anywhere. */
function table(headers: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>, numeric: readonly number[] = [], wrap: readonly number[] = []): string {
  const cls = (i: number): string => (numeric.includes(i) ? ' class="n"' : wrap.includes(i) ? ' class="msg"' : '');
  const head = headers.map((h, i) => `<th${numeric.includes(i) ? ' class="n"' : ''}>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell, i) => `<td${cls(i)}>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('');
  return `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function groupTable(groups: readonly GroupStats[], keyHeader: string): string {
  if (groups.length === 0) return '<p class="note">No prompt was sent yet.</p>';
  return table(
    [keyHeader, 'requests', 'failed', 'req/s', 'tokens/s', 'latency p50 / p95 / p99', 'TTFT p50 / p95 / p99', 'warm starts'],
    groups.map((g) => [
      g.key,
      g.requests,
      g.failed,
      groupRateTexts(g).requestsPerS,
      groupRateTexts(g).tokensPerS,
      percentilesCell(g.latencyMs),
      percentilesCell(g.ttftMs),
      g.loadReported > 0 ? formatPct(g.warmStarts / g.loadReported) : 'not reported',
    ]),
    [1, 2, 3, 4, 5, 6],
  );
}

function histogramBars(h: Histogram): Array<{ label: string; value: number }> {
  return h.counts.map((value, i) => ({ label: `${formatTick(h.fromMs + i * h.widthMs)}${i === h.counts.length - 1 ? '+' : ''}`, value }));
}

function benchTable(benches: readonly BenchRecord[]): string {
  return table(
    ['when', 'target', 'cold load(s)', 'first request', 'sequential req/s', 'sequential p50 / p95 / p99', 'pool (workers)', 'pool req/s', 'speed-up'],
    benches.map((b) => [
      new Date(b.at).toISOString().replace('T', ' ').slice(0, 19),
      b.target,
      b.coldLoadsMs.length === 0 ? 'not measurable (a running server)' : b.coldLoadsMs.map(ms).join(', '),
      ms(b.firstRequestMs),
      b.sequential.requestsPerS.toFixed(2),
      percentilesCell(b.sequential.latencyMs),
      b.pool.concurrency,
      b.pool.requestsPerS.toFixed(2),
      `×${b.speedUp.toFixed(2)}`,
    ]),
    [3, 4, 5, 6, 7, 8],
  );
}

function kpi(value: string, label: string): string {
  return `<div class="kpi"><b>${escapeHtml(value)}</b><span>${escapeHtml(label)}</span></div>`;
}

/** The charts of the page, in reading order. */
function charts(data: JobReportData): string[] {
  const points = data.series.points;
  const origin = Math.min(...[points[0]?.at, data.samples[0]?.at].filter((v): v is number => v !== undefined));
  const rel = (at: number): number => Math.max(0, at - origin);
  const source = data.series.source === 'samples' ? 'from samples' : 'rebuilt from prompt start and finish times';
  const time = 'time since start';
  const out: string[] = [];
  const { done, failed } = data.stats.counts;
  if (done === 0 && failed > 0) {
    // A curve of failures drawn as answers would show a run that answered nothing as working.
    const none = `no prompt was answered: all ${failed} finished prompt(s) failed (see Failures)`;
    out.push(emptyChart({ id: 'throughput', title: 'Prompts finished per second', xLabel: '', yLabel: '' }, none));
    out.push(emptyChart({ id: 'tokens', title: 'Completion tokens per second', xLabel: '', yLabel: '' }, none));
  } else {
    // The series counts every prompt that ended, answered or failed: so says its title.
    const what = failed > 0 ? 'Prompts finished per second, answered or failed' : 'Answers per second';
    out.push(lineChart({ id: 'throughput', title: `${what} (${source})`, xLabel: time, yLabel: 'prompts / s' }, [{ name: failed > 0 ? 'prompts finished per second' : 'answers per second', color: palette[0], points: points.map((p) => [rel(p.at), p.requestsPerS]) }]));
    out.push(lineChart({ id: 'tokens', title: `Completion tokens per second (${source})`, xLabel: time, yLabel: 'tokens / s' }, [{ name: 'completion tokens per second', color: palette[2], points: points.map((p) => [rel(p.at), p.tokensPerS]) }]));
  }
  // Two charts: a queue of thousands would flatten a handful of requests in flight to the axis.
  out.push(lineChart({ id: 'in-flight', title: `Requests in flight (${source})`, xLabel: time, yLabel: 'requests' }, [{ name: 'requests in flight', color: palette[0], points: points.map((p) => [rel(p.at), p.inFlight]) }]));
  out.push(lineChart({ id: 'queued', title: `Prompts queued, not sent yet (${source})`, xLabel: time, yLabel: 'prompts' }, [{ name: 'prompts queued', color: palette[1], points: points.map((p) => [rel(p.at), p.queued]) }]));
  out.push(
    data.latencyHistogram === null
      ? emptyChart({ id: 'latency', title: 'Latency', xLabel: '', yLabel: '' }, 'no prompt answered yet')
      : barChart({ id: 'latency', title: 'Latency of answered prompts', xLabel: 'latency (ms)', yLabel: 'prompts' }, histogramBars(data.latencyHistogram), palette[0], `prompts per ${formatTick(data.latencyHistogram.widthMs)} ms bin (last bin: p99 and above)`),
  );
  out.push(
    data.ttftHistogram === null
      ? emptyChart({ id: 'ttft', title: 'Time to first token', xLabel: '', yLabel: '' }, 'not reported: no prompt was streamed (run with --stream to measure it)')
      : barChart({ id: 'ttft', title: 'Time to first token', xLabel: 'time to first token (ms)', yLabel: 'prompts' }, histogramBars(data.ttftHistogram), palette[4], `prompts per ${formatTick(data.ttftHistogram.widthMs)} ms bin (last bin: p99 and above)`),
  );
  const split = data.timeSplit;
  out.push(
    stackedBar({ id: 'time-split', title: `Where a prompt's time went (mean of ${split.prompts} answered prompts)`, xLabel: 'milliseconds per prompt', yLabel: '' }, [
      { name: 'queue (waiting in batch)', color: palette[6], value: split.queueMs },
      { name: 'model load', color: palette[5], value: split.loadMs },
      { name: 'prompt processing', color: palette[1], value: split.promptMs },
      { name: 'generation', color: palette[2], value: split.generationMs },
      { name: 'other (transfer, server queue)', color: palette[4], value: split.otherMs },
    ]),
  );
  const memory = data.samples.filter((s) => s.rssBytes !== null || s.heapBytes !== null);
  const mib = (bytes: number | null): number => (bytes ?? 0) / 2 ** 20;
  out.push(
    memory.length === 0
      ? emptyChart({ id: 'memory', title: 'Memory of batch', xLabel: '', yLabel: '' }, 'no memory samples: the job was run by a batch that did not sample')
      : lineChart({ id: 'memory', title: 'Memory of the batch process', xLabel: time, yLabel: 'MiB' }, [
          { name: 'resident (RSS)', color: palette[0], points: memory.filter((s) => s.rssBytes !== null).map((s) => [rel(s.at), mib(s.rssBytes)]) },
          { name: 'JavaScript heap', color: palette[1], points: memory.filter((s) => s.heapBytes !== null).map((s) => [rel(s.at), mib(s.heapBytes)]) },
        ]),
  );
  const gpuSeries: LineSeries[] = [];
  const gpuIndexes = [...new Set(data.samples.flatMap((s) => s.gpus.filter((g) => g.utilizationPct !== null).map((g) => g.index)))];
  gpuIndexes.forEach((index, i) => {
    const name = data.samples.flatMap((s) => s.gpus).find((g) => g.index === index)?.name ?? `GPU ${index}`;
    gpuSeries.push({
      name: `GPU ${index}: ${name}`,
      color: palette[i % palette.length]!,
      points: data.samples.flatMap((s) => s.gpus.filter((g) => g.index === index && g.utilizationPct !== null).map((g) => [rel(s.at), g.utilizationPct!] as const)),
    });
  });
  out.push(
    gpuSeries.length === 0 || data.samples.every((s) => sampleGpuPct(s) === undefined)
      ? emptyChart({ id: 'gpu', title: 'GPU utilisation', xLabel: '', yLabel: '' }, data.samples.length === 0 ? 'no GPU samples: the job holds no samples' : 'no GPU samples: no GPU was found, or nvidia-smi could not be read')
      : lineChart({ id: 'gpu', title: 'GPU utilisation', xLabel: time, yLabel: 'utilisation (%)' }, gpuSeries, { yMax: 100 }),
  );
  return out;
}

/** Options of `renderHtmlReport`. */
export interface HtmlReportOptions {
  /** When the page was made, shown in its header. @default now */
  readonly generatedAt?: Date;
}

/**
 * One self-contained HTML page of a job: headline numbers, charts as inline SVG drawn here (no
 * script, no library, nothing fetched: see `reportCsp`), the per-model and per-server tables and
 * the failures with their messages. Every string from the database is escaped.
 */
export function renderHtmlReport(data: JobReportData, options: HtmlReportOptions = {}): string {
  const generated = (options.generatedAt ?? new Date()).toISOString().replace('T', ' ').slice(0, 19);
  const { stats } = data;
  const kpis = [
    kpi(`${stats.counts.done} / ${stats.counts.total}`, `done (${stats.counts.failed} failed, ${stats.counts.pending + stats.counts.running} left)`),
    kpi(`${stats.requestsPerSecond.toFixed(2)} req/s`, `over ${formatDuration(stats.wallMs)} ${jobSpanText(stats)}`),
    kpi(`${stats.completionTokensPerSecond.toFixed(1)} tok/s`, 'completion tokens'),
    kpi(stats.latencyMs === null ? '-' : ms(stats.latencyMs.p50), stats.latencyMs === null ? 'latency' : `latency p50 (p95 ${ms(stats.latencyMs.p95)}, p99 ${ms(stats.latencyMs.p99)})`),
    kpi(data.loads.cacheHitRatio === null ? '-' : formatPct(data.loads.cacheHitRatio), stats.counts.done === 0 ? 'served without a load (no prompt was served)' : `served without a load (${data.loads.loads} load(s))`),
    kpi(data.gpu === null ? 'no GPU samples' : `${data.gpu.meanUtilizationPct.toFixed(0)}%`, 'mean GPU utilisation'),
    kpi(data.memory === null ? 'no samples' : formatBytes(data.memory.peakBytes), data.memory?.growthPer1000PromptsBytes == null ? 'peak RSS' : `peak RSS (${formatBytes(data.memory.growthPer1000PromptsBytes)} per 1,000 prompts)`),
  ];
  const failures =
    data.failures.length === 0
      ? '<p class="note">No prompt failed.</p>'
      : table(['code', 'prompts', 'message'], data.failures.map((f) => [f.code, f.count, f.message]), [1], [2]);
  const retries = data.retryCauses.length === 0 ? '' : `<h2>Retries by cause</h2>${table(['code', 'attempts retried'], data.retryCauses.map((r) => [r.code, r.count]), [1])}`;
  const fallbacks =
    data.fallbacks.length === 0
      ? ''
      : `<h2>Fallbacks (<code>--fallback</code>)</h2>${table(['prompts of', 'answered by', 'prompts', 'why'], data.fallbacks.map((f) => [f.from, f.model ?? '-', f.count, `${f.from}'s ${f.reason ?? 'server could not serve them'}`]), [2], [3])}`;
  const benches = data.benches.length === 0 ? '' : `<h2>Benchmarks (<code>batch bench</code>)</h2>${benchTable(data.benches)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${reportCsp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>batch report: ${escapeHtml(data.job.name)}</title>
<style>${styles}</style>
</head>
<body>
<h1>Job ${escapeHtml(data.job.name)}</h1>
<p class="meta">${escapeHtml(data.job.state)} · created ${escapeHtml(new Date(data.job.createdAt).toISOString().replace('T', ' ').slice(0, 19))} UTC · report made ${escapeHtml(generated)} UTC · ${data.sampleCount} sample(s)</p>
${data.warning === undefined ? '' : `<p class="warning" role="alert">${escapeHtml(data.warning)}</p>`}
<section class="kpis">${kpis.join('')}</section>
<h2>Over time</h2>
<section class="charts">${charts(data).join('\n')}</section>
<h2>Per model</h2>
<p class="note">The rates of a model or server are over its own span, first request to last answer; the job's at the top are over its time on the clock, start-up included.</p>
${groupTable(data.perModel, 'model')}
<h2>Per server</h2>
${groupTable(data.perServer, 'server')}
<h2>Failures</h2>
${failures}
${retries}
${fallbacks}
${benches}
<p class="note">Made by <code>batch report</code>.</p>
</body>
</html>
`;
}
