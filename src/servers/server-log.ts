import { openSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { makeFolder } from '../util/make-folder.js';

/** A server's log file, opened for appending. */
export interface ServerLog {
  readonly path: string;
  readonly fd: number;
}

/**
 * Creates `<logDir>/<model-name>-<n>.log` with the first n not taken, so each start (and each
 * run of a resumed job) has a log of its own. Logs hold prompts and paths: like the job
 * databases, they are readable by their owner only (file 0600, folders 0700).
 */
export function openServerLog(logDir: string, modelPath: string): ServerLog {
  makeFolder(logDir, 0o700);
  const name = modelFileStem(modelPath);
  for (let n = 1; n < 100_000; n += 1) {
    const path = join(logDir, `${name}-${n}.log`);
    try {
      return { path, fd: openSync(path, 'wx', 0o600) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`cannot create a log file for ${name} in ${logDir}: ${name}-1.log to ${name}-99999.log all exist; clean the folder`);
}

/** The file name of a model without its folder and `.gguf`. */
export function modelFileStem(modelPath: string): string {
  return basename(modelPath).replace(/\.gguf$/i, '');
}

/** Text the log received from byte `fromOffset` on ('' if unreadable). */
export function readLogSince(path: string, fromOffset: number): string {
  try {
    return readFileSync(path).subarray(fromOffset).toString('utf8');
  } catch {
    return '';
  }
}

/** The last `count` non-empty lines of `text`. */
export function lastLines(text: string, count: number): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '').slice(-count);
}

const ADDRESS_IN_USE = /couldn't bind HTTP server socket|EADDRINUSE|address already in use/i;

/** Whether a failed start's output says its port was taken (then another port is tried). */
export function saysAddressInUse(text: string): boolean {
  return ADDRESS_IN_USE.test(text);
}

/** An `{"event":"error","code":…,"message":…}` line the embedded server printed, if any. */
export function findErrorEvent(text: string): { readonly code: string; readonly message: string } | undefined {
  for (const line of text.split(/\r?\n/).reverse()) {
    if (!line.startsWith('{') || !line.includes('"event"')) continue;
    try {
      const event = JSON.parse(line) as { event?: unknown; code?: unknown; message?: unknown };
      if (event.event === 'error' && typeof event.code === 'string') {
        return { code: event.code, message: typeof event.message === 'string' ? event.message : line };
      }
    } catch {
      // Not an event line.
    }
  }
  return undefined;
}
