import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isProcessAlive } from '../store/is-process-alive.js';
import { makeFolder } from '../util/make-folder.js';

/**
 * What a running daemon leaves in its batch home (`<home>/daemon/daemon.json`, mode 0600): where
 * it listens, the key its clients send, and its pid. The file stays after the daemon ends: the
 * next `batch up` in the same home takes its address and key over, so a run that was attached to
 * a daemon that died finds the new one where the old one was.
 */
export interface DaemonRecord {
  /** The daemon's pid. */
  readonly pid: number;
  /** When the kernel started that pid (jiffies since boot, /proc/PID/stat): a reused pid is no daemon. */
  readonly pidStart?: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The bearer key every client sends; never printed or logged. */
  readonly key: string;
  /** Epoch ms. */
  readonly startedAt: number;
  /** The daemon's log file. */
  readonly logPath: string;
  /** Requests each model's server runs at once (`batch up --slots`): a run's workers. */
  readonly slots?: number;
  /** Epoch ms of a clean stop (`batch down`); absent while it runs, or when it died. */
  readonly stoppedAt?: number;
}

/** `<home>/daemon`: the daemon's record, its log and its servers' logs. */
export function daemonDir(home: string): string {
  return path.join(home, 'daemon');
}

/** `<home>/daemon/daemon.json` */
export function daemonRecordPath(home: string): string {
  return path.join(daemonDir(home), 'daemon.json');
}

/** A new bearer key: 32 random bytes, hex. */
export function newDaemonKey(): string {
  return randomBytes(32).toString('hex');
}

/** The record in `home`, whatever the daemon's state; undefined when there is none (or it is unreadable). */
export function readDaemonRecord(home: string): DaemonRecord | undefined {
  let text: string;
  try {
    text = readFileSync(daemonRecordPath(home), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<DaemonRecord>;
    if (typeof value.pid !== 'number' || typeof value.url !== 'string' || typeof value.key !== 'string' || typeof value.startedAt !== 'number' || typeof value.logPath !== 'string') return undefined;
    return value as DaemonRecord;
  } catch {
    return undefined;
  }
}

/** The record of the daemon running now in `home`; undefined when none runs (no file, a clean stop, or its pid is gone). */
export function findLiveDaemon(home: string): DaemonRecord | undefined {
  const record = readDaemonRecord(home);
  return record !== undefined && isDaemonAlive(record) ? record : undefined;
}

/**
 * Whether the record's process still runs: alive, not a zombie (a daemon killed outright whose
 * parent has not reaped it yet), and the same process (its start time matches, where the kernel tells it).
 */
export function isDaemonAlive(record: DaemonRecord): boolean {
  if (record.stoppedAt !== undefined || !isProcessAlive(record.pid)) return false;
  const stat = processStat(record.pid);
  if (stat?.state === 'Z') return false;
  return record.pidStart === undefined || stat === undefined || stat.startTime === record.pidStart;
}

/** The start time of `pid` in jiffies since boot (Linux /proc); undefined elsewhere. */
export function processStartTime(pid: number): number | undefined {
  return processStat(pid)?.startTime;
}

/** A process's state letter and start time from /proc/PID/stat; undefined where there is none. */
function processStat(pid: number): { readonly state: string; readonly startTime: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTime = Number(fields[19]);
    return Number.isFinite(startTime) ? { state: fields[0] ?? '', startTime } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Claims `home` for this daemon: writes `record` unless a live daemon holds it (then returns that
 * one's record and writes nothing). The claim is a hard link of a fully written file, which
 * fails when the name exists, so two `batch up` at once cannot both win; a stale record (its
 * daemon gone) is replaced.
 */
export function claimDaemonRecord(home: string, record: DaemonRecord): { readonly claimed: true } | { readonly claimed: false; readonly running: DaemonRecord } {
  const file = daemonRecordPath(home);
  makeFolder(path.dirname(file), 0o700);
  const temporary = writeTemporary(file, record);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(temporary, file);
        return { claimed: true };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const existing = readDaemonRecord(home);
      if (existing !== undefined && isDaemonAlive(existing)) return { claimed: false, running: existing };
      // Stale (or unreadable): replaced, unless another `batch up` replaced it first.
      try {
        unlinkSync(file);
      } catch {
        // Gone already.
      }
    }
    const running = readDaemonRecord(home);
    if (running !== undefined) return { claimed: false, running };
    throw new Error(`cannot claim ${file}: it keeps changing; is another \`batch up\` starting?`);
  } finally {
    unlinkSync(temporary);
  }
}

/** Rewrites the record of this daemon (`pid`), atomically; a record that names another daemon is left alone. */
export function updateDaemonRecord(home: string, pid: number, change: (record: DaemonRecord) => DaemonRecord): void {
  const file = daemonRecordPath(home);
  const current = readDaemonRecord(home);
  if (current === undefined || current.pid !== pid) return;
  const temporary = writeTemporary(file, change(current));
  renameSync(temporary, file);
}

function writeTemporary(file: string, record: DaemonRecord): string {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFileSync passes through the umask; the key must stay the owner's.
  chmodSync(temporary, 0o600);
  return temporary;
}
