import { escapeHtml } from './escape-html.js';

/** One line of a line chart: points as [x, y], x in milliseconds since the chart's start. */
export interface LineSeries {
  readonly name: string;
  readonly color: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
}

/** One bar of a bar chart. */
export interface Bar {
  /** The label under it (every few bars are labelled when they are many). */
  readonly label: string;
  readonly value: number;
}

/** What every chart has: a stable id for tests and links, a title, and its axes' names with units. */
export interface ChartFrame {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
}

// The drawing's own coordinates: the SVG scales to its container (viewBox), on a phone as at 1280 px.
const width = 640;
const height = 300;
const margin = { left: 80, right: 16, top: 16, bottom: 52 };
const plotW = width - margin.left - margin.right;
const plotH = height - margin.top - margin.bottom;

/** About `count` round tick values from 0 to at least `max`. */
export function niceTicks(max: number, count = 5): number[] {
  const top = max > 0 ? max : 1;
  const raw = top / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((s) => s * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = 0; v < top + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** A tick label: `1.5k`, `250`, `0.25`. */
export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(3)));
}

/** The elapsed-time axis in a unit that suits the span: seconds, minutes or hours. */
export function timeAxis(spanMs: number): { readonly unit: string; readonly divisor: number } {
  if (spanMs >= 3 * 3_600_000) return { unit: 'h', divisor: 3_600_000 };
  if (spanMs >= 3 * 60_000) return { unit: 'min', divisor: 60_000 };
  return { unit: 's', divisor: 1000 };
}

function axes(frame: ChartFrame, xTicks: ReadonlyArray<{ x: number; label: string }>, yTicks: readonly number[], yMax: number): string {
  const parts: string[] = [];
  for (const tick of yTicks) {
    const y = margin.top + plotH - (tick / yMax) * plotH;
    parts.push(`<line class="grid" x1="${margin.left}" x2="${margin.left + plotW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}"/>`);
    parts.push(`<text class="tick" x="${margin.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${escapeHtml(formatTick(tick))}</text>`);
  }
  for (const tick of xTicks) {
    parts.push(`<line class="axis" x1="${tick.x.toFixed(1)}" x2="${tick.x.toFixed(1)}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 4}"/>`);
    parts.push(`<text class="tick" x="${tick.x.toFixed(1)}" y="${margin.top + plotH + 17}" text-anchor="middle">${escapeHtml(tick.label)}</text>`);
  }
  parts.push(`<line class="axis" x1="${margin.left}" x2="${margin.left + plotW}" y1="${margin.top + plotH}" y2="${margin.top + plotH}"/>`);
  parts.push(`<line class="axis" x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}"/>`);
  parts.push(`<text class="label" x="${margin.left + plotW / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(frame.xLabel)}</text>`);
  parts.push(`<text class="label" transform="translate(14 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(frame.yLabel)}</text>`);
  return parts.join('');
}

function legend(items: ReadonlyArray<{ readonly name: string; readonly color: string }>): string {
  return `<ul class="legend">${items.map((item) => `<li><span class="swatch" style="background:${escapeHtml(item.color)}"></span>${escapeHtml(item.name)}</li>`).join('')}</ul>`;
}

function figure(frame: ChartFrame, points: number, svg: string, extra = ''): string {
  return `<figure class="chart" id="${escapeHtml(frame.id)}" data-chart="${escapeHtml(frame.id)}" data-points="${points}"><figcaption>${escapeHtml(frame.title)}</figcaption>${svg}${extra}</figure>`;
}

function svgOpen(frame: ChartFrame): string {
  return `<svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMidYMid meet" role="img" aria-label="${escapeHtml(frame.title)}">`;
}

/** A panel that says why a chart has nothing to draw, in the place of the chart. */
export function emptyChart(frame: ChartFrame, reason: string): string {
  return `<figure class="chart empty" id="${escapeHtml(frame.id)}" data-chart="${escapeHtml(frame.id)}" data-points="0" data-empty="true"><figcaption>${escapeHtml(frame.title)}</figcaption><p class="none">${escapeHtml(reason)}</p></figure>`;
}

/** At most `max` points per series, each the mean of its share: a night of samples stays a light page. */
export function thin(points: ReadonlyArray<readonly [number, number]>, max = 300): Array<readonly [number, number]> {
  if (points.length <= max) return [...points];
  const out: Array<readonly [number, number]> = [];
  const per = points.length / max;
  for (let i = 0; i < max; i++) {
    const slice = points.slice(Math.floor(i * per), Math.floor((i + 1) * per));
    if (slice.length === 0) continue;
    out.push([slice.reduce((a, p) => a + p[0], 0) / slice.length, slice.reduce((a, p) => a + p[1], 0) / slice.length]);
  }
  return out;
}

/**
 * A line chart over elapsed time: one path per series, a dot per point (the data the page's test
 * counts), axes with units and a legend. `yMax` fixes the scale (100 for percentages).
 */
export function lineChart(frame: ChartFrame, series: readonly LineSeries[], options: { readonly yMax?: number } = {}): string {
  const drawn = series.map((s) => ({ ...s, points: thin(s.points) })).filter((s) => s.points.length > 0);
  const total = drawn.reduce((a, s) => a + s.points.length, 0);
  if (total === 0) return emptyChart(frame, 'no data');
  const xMax = Math.max(1, ...drawn.flatMap((s) => s.points.map((p) => p[0])));
  const yTicks = niceTicks(options.yMax ?? Math.max(...drawn.flatMap((s) => s.points.map((p) => p[1]))));
  const yMax = yTicks[yTicks.length - 1]!;
  const axis = timeAxis(xMax);
  const xTicks = niceTicks(xMax / axis.divisor, 6)
    .filter((t) => t * axis.divisor <= xMax * 1.0001)
    .map((t) => ({ x: margin.left + ((t * axis.divisor) / xMax) * plotW, label: formatTick(t) }));
  const px = (x: number): number => margin.left + (x / xMax) * plotW;
  const py = (y: number): number => margin.top + plotH - (Math.min(y, yMax) / yMax) * plotH;
  const lines = drawn.map((s) => {
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join('');
    const dots = s.points.map((p) => `<circle class="mark" cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="2" fill="${escapeHtml(s.color)}"><title>${escapeHtml(`${s.name}: ${formatTick(p[1])} at ${formatTick(p[0] / axis.divisor)} ${axis.unit}`)}</title></circle>`);
    return `<g class="series" data-series="${escapeHtml(s.name)}" data-points="${s.points.length}"><path d="${d}" fill="none" stroke="${escapeHtml(s.color)}" stroke-width="2"/>${dots.join('')}</g>`;
  });
  const frameWithUnit = { ...frame, xLabel: `${frame.xLabel} (${axis.unit})` };
  return figure(frame, total, `${svgOpen(frame)}${axes(frameWithUnit, xTicks, yTicks, yMax)}${lines.join('')}</svg>`, legend(drawn));
}

/** A bar chart (histograms): one bar per value, labels under every few bars. */
export function barChart(frame: ChartFrame, bars: readonly Bar[], color: string, legendName: string): string {
  if (bars.length === 0 || bars.every((b) => b.value === 0)) return emptyChart(frame, 'no data');
  const yTicks = niceTicks(Math.max(...bars.map((b) => b.value)));
  const yMax = yTicks[yTicks.length - 1]!;
  const slot = plotW / bars.length;
  const every = Math.ceil(bars.length / 8);
  const xTicks = bars.map((b, i) => ({ x: margin.left + i * slot, label: b.label })).filter((_, i) => i % every === 0);
  const rects = bars.map((b, i) => {
    const h = (b.value / yMax) * plotH;
    return `<rect class="mark" x="${(margin.left + i * slot + 1).toFixed(1)}" y="${(margin.top + plotH - h).toFixed(1)}" width="${Math.max(1, slot - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${escapeHtml(color)}"><title>${escapeHtml(`${b.label}: ${b.value}`)}</title></rect>`;
  });
  const points = bars.filter((b) => b.value > 0).length;
  return figure(frame, points, `${svgOpen(frame)}${axes(frame, xTicks, yTicks, yMax)}${rects.join('')}</svg>`, legend([{ name: legendName, color }]));
}

/** One part of a stacked bar; a part with no value is listed as not reported. */
export interface StackPart {
  readonly name: string;
  readonly color: string;
  readonly value: number | null;
}

/** One horizontal bar split into parts (where a prompt's time went), in milliseconds. */
export function stackedBar(frame: ChartFrame, parts: readonly StackPart[]): string {
  const known = parts.filter((p): p is StackPart & { value: number } => p.value !== null && p.value > 0);
  if (known.length === 0) return emptyChart(frame, 'no timings reported');
  const total = known.reduce((a, p) => a + p.value, 0);
  const xTicks = niceTicks(total, 5);
  const xMax = xTicks[xTicks.length - 1]!;
  const barY = margin.top + plotH / 2 - 40;
  let x = margin.left;
  const rects = known.map((p) => {
    const w = (p.value / xMax) * plotW;
    const rect = `<rect class="mark" x="${x.toFixed(1)}" y="${barY}" width="${w.toFixed(1)}" height="80" fill="${escapeHtml(p.color)}"><title>${escapeHtml(`${p.name}: ${p.value.toFixed(1)} ms`)}</title></rect>`;
    x += w;
    return rect;
  });
  const ticks = xTicks.map((t) => ({ x: margin.left + (t / xMax) * plotW, label: formatTick(t) }));
  const svg = `${svgOpen(frame)}${axes({ ...frame }, ticks, [], 1)}${rects.join('')}</svg>`;
  const items = parts.map((p) => ({ name: `${p.name}: ${p.value === null ? 'not reported' : `${p.value.toFixed(1)} ms`}`, color: p.value === null ? '#ccc' : p.color }));
  return figure(frame, known.length, svg, legend(items));
}
