import { describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/reporting/escape-html.js';
import { barChart, lineChart, niceTicks, stackedBar, thin, timeAxis } from '../../src/reporting/svg-chart.js';

const frame = { id: 'c', title: 'Title <b>', xLabel: 'time since start', yLabel: 'answers / s' };

describe('report charts', () => {
  it('escapes markup, quotes and control characters', () => {
    expect(escapeHtml(`<img src="x" onerror='y'>&\u0007`)).toBe('&lt;img src=&quot;x&quot; onerror=&#39;y&#39;&gt;&amp;\ufffd');
  });

  it('draws a dot per point with axes, units and a legend, and says so when there is nothing to draw', () => {
    const svg = lineChart(frame, [{ name: 'a <s>', color: '#000', points: [[0, 1], [60_000, 3], [120_000, 2]] }]);
    expect(svg).toContain('data-points="3"');
    expect(svg.match(/<circle class="mark"/g)).toHaveLength(3);
    expect(svg).toContain('time since start (s)');
    expect(svg).toContain('answers / s');
    expect(svg).toContain('<li><span class="swatch" style="background:#000"></span>a &lt;s&gt;</li>');
    expect(svg).toContain('<figcaption>Title &lt;b&gt;</figcaption>');
    const empty = lineChart(frame, [{ name: 'a', color: '#000', points: [] }]);
    expect(empty).toContain('data-empty="true"');
    expect(empty).toContain('no data');
  });

  it('labels bars, stacks the known parts and lists the unreported ones', () => {
    const bars = barChart(frame, [{ label: '0', value: 2 }, { label: '10', value: 0 }, { label: '20+', value: 5 }], '#111', 'prompts');
    expect(bars.match(/<rect class="mark"/g)).toHaveLength(3);
    expect(bars).toContain('data-points="2"');
    const stack = stackedBar(frame, [{ name: 'queue', color: '#111', value: null }, { name: 'generation', color: '#222', value: 30 }]);
    expect(stack.match(/<rect class="mark"/g)).toHaveLength(1);
    expect(stack).toContain('queue: not reported');
    expect(stackedBar(frame, [{ name: 'queue', color: '#111', value: null }])).toContain('no timings reported');
  });

  it('picks round ticks, a time unit for the span, and thins a night of samples', () => {
    expect(niceTicks(87)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(timeAxis(90_000).unit).toBe('s');
    expect(timeAxis(30 * 60_000).unit).toBe('min');
    expect(timeAxis(8 * 3_600_000).unit).toBe('h');
    const many = Array.from({ length: 9000 }, (_, i) => [i, i % 2] as const);
    const thinned = thin(many, 300);
    expect(thinned).toHaveLength(300);
    expect(thinned[0]![1]).toBeCloseTo(0.5, 1);
  });
});
