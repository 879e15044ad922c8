import type { ConcurrencyCurve } from './concurrency-curve.js';

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 70, right: 70, top: 40, bottom: 50 };
const THROUGHPUT_COLOUR = '#1f77b4';
const LATENCY_COLOUR = '#d62728';

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[char]!);
}

/** Round tick values: 0 and four more up to the axis maximum. */
function ticks(max: number): number[] {
  return [0, 1, 2, 3, 4].map((i) => (max * i) / 4);
}

function label(value: number): string {
  return value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}

/**
 * A standalone SVG line chart of a concurrency curve: completion tokens/s (left axis) and p95
 * latency (right axis) against concurrency, levels evenly spaced since they double, and the
 * recommended level marked with a dashed line.
 */
export function renderCurveSvg(curve: ConcurrencyCurve): string {
  const levels = curve.levels;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxTokens = Math.max(1, ...levels.map((level) => level.completionTokensPerSecond)) * 1.1;
  const maxLatency = Math.max(1, ...levels.map((level) => level.p95LatencyMs)) * 1.1;
  const x = (index: number): number => MARGIN.left + (levels.length <= 1 ? plotWidth / 2 : (plotWidth * index) / (levels.length - 1));
  const yTokens = (value: number): number => MARGIN.top + plotHeight - (plotHeight * value) / maxTokens;
  const yLatency = (value: number): number => MARGIN.top + plotHeight - (plotHeight * value) / maxLatency;
  const fixed = (value: number): string => value.toFixed(1);
  const bottom = MARGIN.top + plotHeight;
  const right = MARGIN.left + plotWidth;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(`Concurrency curve of ${curve.url}`)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(`Throughput and p95 latency vs concurrency (${curve.url})`)}</text>`,
    `<line class="axis" x1="${MARGIN.left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="black"/>`,
    `<line class="axis" x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${bottom}" stroke="${THROUGHPUT_COLOUR}"/>`,
    `<line class="axis" x1="${right}" y1="${MARGIN.top}" x2="${right}" y2="${bottom}" stroke="${LATENCY_COLOUR}"/>`,
  ];
  for (const value of ticks(maxTokens)) {
    parts.push(`<text x="${MARGIN.left - 6}" y="${fixed(yTokens(value) + 4)}" text-anchor="end" fill="${THROUGHPUT_COLOUR}">${label(value)}</text>`);
  }
  for (const value of ticks(maxLatency)) {
    parts.push(`<text x="${right + 6}" y="${fixed(yLatency(value) + 4)}" fill="${LATENCY_COLOUR}">${label(value)}</text>`);
  }
  levels.forEach((level, index) => {
    parts.push(`<text x="${fixed(x(index))}" y="${bottom + 18}" text-anchor="middle">${level.concurrency}</text>`);
  });
  parts.push(
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 8}" text-anchor="middle">concurrency (requests in flight)</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="${THROUGHPUT_COLOUR}">completion tokens/s</text>`,
    `<text transform="translate(${WIDTH - 12} ${MARGIN.top + plotHeight / 2}) rotate(90)" text-anchor="middle" fill="${LATENCY_COLOUR}">p95 latency (ms)</text>`,
  );

  const recommendedIndex = levels.findIndex((level) => level.concurrency === curve.recommended);
  if (recommendedIndex >= 0) {
    const at = fixed(x(recommendedIndex));
    parts.push(
      `<line class="recommended" x1="${at}" y1="${MARGIN.top}" x2="${at}" y2="${bottom}" stroke="green" stroke-dasharray="5 4"/>`,
      `<text x="${at}" y="${MARGIN.top - 4}" text-anchor="middle" fill="green">recommended: ${curve.recommended}</text>`,
    );
  }
  const throughputPoints = levels.map((level, index) => `${fixed(x(index))},${fixed(yTokens(level.completionTokensPerSecond))}`).join(' ');
  const latencyPoints = levels.map((level, index) => `${fixed(x(index))},${fixed(yLatency(level.p95LatencyMs))}`).join(' ');
  parts.push(
    `<polyline class="throughput" points="${throughputPoints}" fill="none" stroke="${THROUGHPUT_COLOUR}" stroke-width="2"/>`,
    `<polyline class="latency" points="${latencyPoints}" fill="none" stroke="${LATENCY_COLOUR}" stroke-width="2" stroke-dasharray="2 3"/>`,
  );
  levels.forEach((level, index) => {
    parts.push(
      `<circle class="point" cx="${fixed(x(index))}" cy="${fixed(yTokens(level.completionTokensPerSecond))}" r="4" fill="${THROUGHPUT_COLOUR}"><title>${level.concurrency}: ${level.completionTokensPerSecond.toFixed(1)} tokens/s</title></circle>`,
      `<rect class="latency-point" x="${fixed(x(index) - 3)}" y="${fixed(yLatency(level.p95LatencyMs) - 3)}" width="6" height="6" fill="${LATENCY_COLOUR}"><title>${level.concurrency}: p95 ${Math.round(level.p95LatencyMs)} ms</title></rect>`,
    );
  });
  parts.push(
    `<rect x="${MARGIN.left + 10}" y="${MARGIN.top + 6}" width="12" height="3" fill="${THROUGHPUT_COLOUR}"/><text x="${MARGIN.left + 28}" y="${MARGIN.top + 11}">tokens/s</text>`,
    `<rect x="${MARGIN.left + 10}" y="${MARGIN.top + 20}" width="12" height="3" fill="${LATENCY_COLOUR}"/><text x="${MARGIN.left + 28}" y="${MARGIN.top + 25}">p95 latency</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
