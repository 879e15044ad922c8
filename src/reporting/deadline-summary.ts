import { formatDuration } from './format-duration.js';

/** What a run that its deadline (`--until`, `--for`) stopped left, for the summary. */
export interface DeadlineSummary {
  /** The deadline, ISO 8601. */
  readonly at: string;
  /** Prompts left to send (pending, and those in flight at the end, back to pending). */
  readonly remaining: number;
  /** Whether the inputs were still being read: more prompts than `remaining` are left. */
  readonly inputsLeft: boolean;
  /** This run's rate, prompts finished per second; 0 when none finished. */
  readonly promptsPerSecond: number;
  /** Roughly how long the remaining prompts need at that rate; undefined without a rate. */
  readonly estimatedMs?: number;
}

/** `07:00`: a deadline as the local clock shows it. */
export function formatClock(at: number | Date): string {
  return new Date(at).toTimeString().slice(0, 5);
}

/** `1,234`: counts people read at a glance. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** The summary of a deadline that stopped the run, with the estimate from this run's rate. */
export function summarizeDeadline(at: number, remaining: number, inputsLeft: boolean, promptsPerSecond: number): DeadlineSummary {
  const estimatedMs = promptsPerSecond > 0 ? (remaining / promptsPerSecond) * 1000 : undefined;
  return { at: new Date(at).toISOString(), remaining, inputsLeft, promptsPerSecond, ...(estimatedMs === undefined ? {} : { estimatedMs }) };
}

/**
 * `deadline 07:00 reached: 1,234 prompts left; at 3.2 prompts/s about 6m 25s; nothing is lost;
 * continue with: batch resume night`.
 */
export function formatDeadlineLine(deadline: DeadlineSummary, resumeCommand: string): string {
  const left = `${formatCount(deadline.remaining)} prompt${deadline.remaining === 1 ? '' : 's'} left${deadline.inputsLeft ? ' (and inputs not all read)' : ''}`;
  const rate = deadline.estimatedMs === undefined ? 'no prompt finished, so no estimate' : `at ${deadline.promptsPerSecond.toFixed(1)} prompts/s about ${formatDuration(deadline.estimatedMs)}`;
  return `deadline ${formatClock(Date.parse(deadline.at))} reached: ${left}; ${rate}; nothing is lost; continue with: ${resumeCommand}`;
}
