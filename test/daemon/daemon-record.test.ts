import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimDaemonRecord, daemonRecordPath, findLiveDaemon, isDaemonAlive, processStartTime, readDaemonRecord, updateDaemonRecord, type DaemonRecord } from '../../src/daemon/daemon-record.js';

let home: string;
beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'batch-daemon-record-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const mine = (): DaemonRecord => ({ pid: process.pid, pidStart: processStartTime(process.pid), url: 'http://127.0.0.1:4567', key: 'k'.repeat(64), startedAt: Date.now(), logPath: '/tmp/log' });

/** A pid that was alive and is gone now. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('the daemon record', () => {
  it('is claimed once, readable by its owner only (0600), and found while its process lives', () => {
    expect(claimDaemonRecord(home, mine())).toEqual({ claimed: true });
    expect(statSync(daemonRecordPath(home)).mode & 0o777).toBe(0o600);
    expect(findLiveDaemon(home)?.pid).toBe(process.pid);
    // A second daemon in the same home is refused, and told who runs.
    const second = claimDaemonRecord(home, { ...mine(), url: 'http://127.0.0.1:9999' });
    expect(second).toMatchObject({ claimed: false, running: { pid: process.pid, url: 'http://127.0.0.1:4567' } });
  });

  it('of a daemon that died is stale: taken over by the next claim', () => {
    const dead = deadPid();
    claimDaemonRecord(home, { ...mine(), pid: dead, pidStart: undefined });
    expect(readDaemonRecord(home)?.pid).toBe(dead);
    expect(findLiveDaemon(home)).toBeUndefined();
    expect(claimDaemonRecord(home, mine())).toEqual({ claimed: true });
    expect(readDaemonRecord(home)?.pid).toBe(process.pid);
  });

  it('names no live daemon when its pid was reused by another process (its start time differs)', () => {
    const record = { ...mine(), pidStart: (processStartTime(process.pid) ?? 0) + 1 };
    expect(isDaemonAlive(record)).toBe(process.platform !== 'linux');
  });

  it('says a clean stop: the record stays (its address and key are taken over) but names no live daemon', () => {
    claimDaemonRecord(home, mine());
    updateDaemonRecord(home, process.pid, (r) => ({ ...r, stoppedAt: Date.now() }));
    expect(findLiveDaemon(home)).toBeUndefined();
    expect(readDaemonRecord(home)?.key).toBe('k'.repeat(64));
    expect(JSON.parse(readFileSync(daemonRecordPath(home), 'utf8')).stoppedAt).toBeGreaterThan(0);
  });

  it('reads a damaged record as none', () => {
    claimDaemonRecord(home, mine());
    writeFileSync(daemonRecordPath(home), '{"pid": "x"');
    expect(readDaemonRecord(home)).toBeUndefined();
    expect(claimDaemonRecord(home, mine())).toEqual({ claimed: true });
  });
});
