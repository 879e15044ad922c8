import { describe, expect, it } from 'vitest';
import { longRunMs, summarizeRun, type RunFacts } from '../../../src/app/run/summarize-run.js';
import { formatRunSummary } from '../../../src/reporting/run-summary.js';

const counts = { pending: 0, running: 0, done: 10, failed: 0, total: 10 };
const facts = (over: Partial<RunFacts>): RunFacts => ({
  job: 'night', database: '/h/night.sqlite', output: '/h/night.output.jsonl', exitCode: 0,
  before: { ...counts, done: 0, pending: 10 }, after: counts, ingest: undefined, deduplicated: 0, cached: 0, scheduled: undefined,
  wallMs: longRunMs, modelLoads: [], interrupted: false, resumeCommand: undefined, ...over,
});

describe('the advice on the engine', () => {
  it('tells a long run on the embedded server (no llama-server found) what llama-server saves and the one command that builds it', () => {
    const summary = summarizeRun(facts({ embeddedByDefault: true, wallMs: 3_600_000 }));
    expect(summary.engineAdvice).toContain('this run sent for 1h 00m on the embedded server');
    expect(summary.engineAdvice).toContain('about 33m 00s less here');
    expect(summary.engineAdvice).toContain('`npx batch setup llama-server` builds it once');
    expect(formatRunSummary(summary)).toContain('  engine: this run sent for 1h 00m');
  });

  it('says nothing to a short run, to a run whose --engine chose the embedded server, or to one on llama-server', () => {
    expect(summarizeRun(facts({ embeddedByDefault: true, wallMs: longRunMs - 1 })).engineAdvice).toBeUndefined();
    expect(summarizeRun(facts({ embeddedByDefault: false, wallMs: 3_600_000 })).engineAdvice).toBeUndefined();
    expect(formatRunSummary(summarizeRun(facts({ wallMs: 3_600_000 })))).not.toContain('engine:');
  });
});
