import { BatchScheduler, type BatchSchedulerOptions, type SchedulerResult } from '../../src/scheduler/batch-scheduler.js';
import { composeListeners } from '../../src/scheduler/listener-set.js';
import { RunStatistics, type RunStatisticsSummary } from '../../src/reporting/run-statistics.js';

/**
 * Runs a `BatchScheduler` as `batch run` does, with `RunStatistics` listening beside
 * `options.listener`: how the run ended and the counts its summary reports.
 */
export async function runScheduler(options: BatchSchedulerOptions): Promise<SchedulerResult & RunStatisticsSummary> {
  const statistics = new RunStatistics();
  const result = await new BatchScheduler({ ...options, listener: composeListeners(statistics, options.listener) }).run();
  return { ...result, ...statistics.summary() };
}
