import type { ConcurrencyCurve } from './concurrency-curve.js';
import { formatTable } from './format-table.js';

/** The measured levels as an aligned table, then the recommendation and why. */
export function formatCurve(curve: ConcurrencyCurve): string {
  const table = formatTable(
    ['concurrency', 'requests', 'tokens/s', 'requests/s', 'p50 ms', 'p95 ms'],
    curve.levels.map((level) => [
      String(level.concurrency),
      String(level.requests),
      level.completionTokensPerSecond.toFixed(1),
      level.requestsPerSecond.toFixed(2),
      String(Math.round(level.p50LatencyMs)),
      String(Math.round(level.p95LatencyMs)),
    ]),
  );
  return `Measured ${curve.url}:\n${table}\n\nRecommended concurrency: ${curve.recommended} (--workers ${curve.recommended}): ${curve.reason}\n`;
}
