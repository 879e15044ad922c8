import { basename } from 'node:path';
import { ServerError } from '../errors.js';
import { findErrorEvent, lastLines } from './server-log.js';
import type { ExitOutcome } from './spawn-reaped.js';

const LOG_LINES_IN_ERRORS = 5;

/** What a start-up error names. */
export interface StartErrorContext {
  /** 'llama-server' or 'embedded server'. */
  readonly label: string;
  readonly modelPath: string;
  readonly logPath: string;
  /** What the server printed during the failed try. */
  readonly output: string;
}

/**
 * The server exited before it was ready: MODEL_INVALID as the embedded server printed it, else
 * SERVER_NOT_READY with how it ended, the log path and its last lines.
 */
export function earlyExitError(context: StartErrorContext, outcome: ExitOutcome, tries: { readonly count: number; readonly lastPort: number }): ServerError {
  const event = findErrorEvent(context.output);
  if (event?.code === 'MODEL_INVALID') return new ServerError('MODEL_INVALID', event.message);
  const how = outcome.signal !== null ? `was killed by ${outcome.signal}` : `exited with code ${String(outcome.code)}`;
  const retried = tries.count > 1 ? ` (after ${tries.count} tries with fresh ports; the last was ${tries.lastPort})` : '';
  return new ServerError(
    'SERVER_NOT_READY',
    `${context.label} for model ${basename(context.modelPath)} ${how} before it was ready${retried}; see ${context.logPath}.${describeTail(context.output, ' It printed nothing.')}`,
  );
}

/** The server was not ready within the startup timeout. */
export function startupTimeoutError(context: StartErrorContext, timeoutMs: number, what: string): ServerError {
  return new ServerError(
    'SERVER_NOT_READY',
    `${context.label} for model ${basename(context.modelPath)} was not ready after the startup timeout of ${timeoutMs} ms (${what}); ` +
      `raise the startup timeout if the model is large, and see ${context.logPath}.${describeTail(context.output, '')}`,
  );
}

function describeTail(output: string, whenEmpty: string): string {
  const tail = lastLines(output, LOG_LINES_IN_ERRORS);
  return tail.length === 0 ? whenEmpty : `\nLast lines:\n  ${tail.join('\n  ')}`;
}
