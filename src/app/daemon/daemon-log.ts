import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { makeFolder } from '../../util/make-folder.js';

/**
 * One timestamped line per event in the daemon's log file (and on stderr too in the foreground).
 * Written synchronously: a daemon killed outright keeps its last lines, and lines are rare.
 */
export function openDaemonLog(file: string, alsoTo?: NodeJS.WritableStream): (line: string) => void {
  makeFolder(path.dirname(file), 0o700);
  return (line: string): void => {
    const text = `${new Date().toISOString()} ${line}\n`;
    try {
      appendFileSync(file, text, { mode: 0o600 });
    } catch {
      // A full disk must not stop the daemon serving; stderr (if any) still has it.
    }
    alsoTo?.write(text);
  };
}
