import type { Writable } from 'node:stream';
import { toAppError } from '../errors.js';

/**
 * Prints an error that ended a command, once, as `batch: error [CODE]: message` (a stack trace
 * only for a bug in `batch`), and returns the exit code its code stands for.
 */
export function reportError(error: unknown, stderr: Writable): number {
  const appError = toAppError(error);
  stderr.write(`batch: error [${appError.code}]: ${appError.message}\n`);
  if (appError.code === 'INTERNAL' && error instanceof Error && error.stack) {
    stderr.write(`${error.stack}\nThis is a bug in batch; please report it with the command you ran.\n`);
  }
  return appError.exitCode;
}
