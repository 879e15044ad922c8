import type { BenchRecord } from '../store/benches.js';
import type { FailureGroup, Histogram, SeriesPoint, TimeSplit } from '../store/item-series.js';
import type { JobReader } from '../store/job-reader.js';
import type { JobReportFacts } from '../store/job-report-data.js';
import type { SampleRecord } from '../store/samples.js';
import type { JobRecord } from '../store/store-records.js';
import { jobInsights, type JobInsights } from './job-insights.js';

/** Everything `batch report` shows: the insights, and the data of its charts. */
export interface JobReportData extends JobInsights {
  readonly job: { readonly name: string; readonly state: string; readonly createdAt: number };
  /** Throughput, in flight and queued over time: from samples when the job has them, else rebuilt from prompts' times. */
  readonly series: { readonly source: 'samples' | 'items'; readonly points: readonly SeriesPoint[] };
  readonly samples: readonly SampleRecord[];
  readonly latencyHistogram: Histogram | null;
  readonly ttftHistogram: Histogram | null;
  readonly timeSplit: TimeSplit;
  /** Failures by code and message, with the messages (at most 50 groups). */
  readonly failures: readonly FailureGroup[];
  readonly benches: readonly BenchRecord[];
}

/** The report of a job from its stored facts (`JobReader.reportFacts`): pure. */
export function jobReport(job: JobRecord, facts: JobReportFacts): JobReportData {
  return {
    ...jobInsights(job, facts),
    job: { name: job.name, state: job.state, createdAt: job.createdAt },
    series: facts.series,
    samples: facts.samples,
    latencyHistogram: facts.latencyHistogram,
    ttftHistogram: facts.ttftHistogram,
    timeSplit: facts.timeSplit,
    failures: facts.failures,
    benches: facts.benches,
  };
}

/** Everything `batch report` shows about a job; read-only, so it works on a job another process is running. */
export function readJobReport(reader: JobReader, job: JobRecord): JobReportData {
  return jobReport(job, reader.reportFacts(job.id));
}
