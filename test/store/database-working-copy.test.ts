import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import { DatabaseWorkingCopy } from '../../src/store/database-working-copy.js';
import { networkFilesystemName, networkFilesystemOf } from '../../src/store/network-filesystem.js';

let dir: string;
let shared: string;
let local: string;
/** `shared/` plays an NFS mount; everything else is local disk. */
const filesystemOf = (file: string): string | undefined => (path.resolve(file).startsWith(shared) ? 'NFS' : undefined);

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-working-copy-'));
  shared = path.join(dir, 'shared');
  local = path.join(dir, 'local');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function jobsIn(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT name FROM jobs ORDER BY name').all() as Array<{ name: string }>).map((row) => row.name);
  } finally {
    db.close();
  }
}

describe('a job database on a network filesystem', () => {
  it('is worked on from node-local disk and written back whole, in rollback mode, with no WAL beside it', async () => {
    const db = path.join(shared, 'night.sqlite');
    const copy = DatabaseWorkingCopy.open({ db, env: { TMPDIR: local }, filesystemOf });
    expect(copy.isCopy).toBe(true);
    expect(copy.reason).toBe('NFS');
    expect(copy.path.startsWith(local)).toBe(true);
    const store = CheckpointStore.open({ path: copy.path });
    store.openJob({ name: 'night', config: {}, inputFingerprint: 'x' });
    await copy.copyBack();
    // Written back while the store is still open and in WAL mode on the local copy.
    expect(jobsIn(db)).toEqual(['night']);
    const kept = new Database(db, { readonly: true });
    expect(kept.pragma('journal_mode', { simple: true })).toBe('delete');
    kept.close();
    store.openJob({ name: 'later', config: {}, inputFingerprint: 'y' });
    store.close();
    await copy.close();
    expect(jobsIn(db)).toEqual(['later', 'night']);
    expect(readdirSync(shared).sort()).toEqual(['night.sqlite']);
    expect(readdirSync(local)).toEqual([]);
  });

  it('starts from the kept database, and a second run on another node finds the first one\'s work', async () => {
    const db = path.join(shared, 'night.sqlite');
    const first = DatabaseWorkingCopy.open({ db, env: { SLURM_TMPDIR: path.join(local, 'node-a') }, filesystemOf });
    const store = CheckpointStore.open({ path: first.path });
    store.openJob({ name: 'night', config: {}, inputFingerprint: 'x' });
    store.close();
    await first.close();
    const second = DatabaseWorkingCopy.open({ db, env: { SLURM_TMPDIR: path.join(local, 'node-b') }, filesystemOf });
    expect(second.path.startsWith(path.join(local, 'node-b'))).toBe(true);
    expect(jobsIn(second.path)).toEqual(['night']);
    await second.close();
  });

  it('writes nothing back when the run removed its database (a run refused before sending)', async () => {
    const db = path.join(shared, 'refused.sqlite');
    const copy = DatabaseWorkingCopy.open({ db, env: { TMPDIR: local }, filesystemOf });
    CheckpointStore.open({ path: copy.path }).close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${copy.path}${suffix}`, { force: true });
    await copy.close();
    expect(existsSync(db)).toBe(false);
  });

  it('opens a database on local disk where it is, unless asked for a copy; never copies with never', () => {
    const db = path.join(local, 'here.sqlite');
    expect(DatabaseWorkingCopy.open({ db, env: { TMPDIR: dir }, filesystemOf }).isCopy).toBe(false);
    expect(DatabaseWorkingCopy.open({ db: path.join(shared, 'x.sqlite'), mode: 'never', env: {}, filesystemOf }).path).toBe(path.join(shared, 'x.sqlite'));
    const always = DatabaseWorkingCopy.open({ db, mode: 'always', env: { TMPDIR: path.join(dir, 'tmp') }, filesystemOf });
    expect(always.isCopy).toBe(true);
    expect(always.reason).toBe('asked for');
  });

  it('refuses a node-local folder that is on the network too, naming the fix', () => {
    expect(() => DatabaseWorkingCopy.open({ db: path.join(shared, 'x.sqlite'), env: { TMPDIR: path.join(shared, 'tmp') }, filesystemOf })).toThrow(/is on NFS too; set TMPDIR to a folder on a local disk/);
  });
});

describe('the lock of a kept database worked on from copies', () => {
  const db = (): string => path.join(shared, 'locked.sqlite');
  const open = (owner: { pid: number; host: string; task?: string }, node: string): DatabaseWorkingCopy =>
    DatabaseWorkingCopy.open({ db: db(), env: { TMPDIR: path.join(local, node) }, filesystemOf, owner });

  it('stops a second node while the first works on its copy, and is gone once the first is done', async () => {
    const first = open({ pid: process.pid, host: 'node-a' }, 'a');
    expect(existsSync(`${db()}.lock`)).toBe(true);
    // Another host: whether that process lives cannot be checked from here.
    expect(() => open({ pid: 4242, host: 'node-b' }, 'b')).toThrow(/is being worked on by pid \d+ on host node-a .* remove .*locked\.sqlite\.lock if that process is gone/);
    // This host, a live process.
    expect(() => open({ pid: process.ppid, host: 'node-a' }, 'c')).toThrow(/JOB_LOCKED|is being worked on/);
    await first.close();
    expect(existsSync(`${db()}.lock`)).toBe(false);
    const second = open({ pid: 4242, host: 'node-b' }, 'b');
    expect(second.tookOverFrom).toBeUndefined();
    await second.close();
  });

  it('is taken over from a dead process of this host, and by the same scheduler task on another node', async () => {
    mkdirSync(shared, { recursive: true });
    const dead = 2 ** 22 + 12345;
    writeFileSync(`${db()}.lock`, JSON.stringify({ pid: dead, host: os.hostname(), at: 'then' }));
    const mine = open({ pid: process.pid, host: os.hostname() }, 'a');
    expect(mine.tookOverFrom).toEqual({ pid: dead, host: os.hostname() });
    await mine.close();
    expect(existsSync(`${db()}.lock`)).toBe(false);
    // Killed outright on node-a: its lock stays; the same Slurm task requeued on node-b takes it, another task does not.
    writeFileSync(`${db()}.lock`, JSON.stringify({ pid: 99, host: 'node-a', task: 'slurm:9_1' }));
    expect(() => open({ pid: 8, host: 'node-c', task: 'slurm:9_2' }, 'c')).toThrow(/is being worked on by pid 99 on host node-a \(slurm:9_1\)/);
    const requeued = open({ pid: 8, host: 'node-b', task: 'slurm:9_1' }, 'b');
    expect(requeued.tookOverFrom).toEqual({ pid: 99, host: 'node-a', task: 'slurm:9_1' });
    await requeued.close();
    expect(existsSync(`${db()}.lock`)).toBe(false);
  });
});

describe('which filesystem is a network one', () => {
  it('names them by statfs type, and asks the nearest folder that exists', () => {
    expect(networkFilesystemName(0x6969)).toBe('NFS');
    expect(networkFilesystemName(0x0bd00bd0)).toBe('Lustre');
    expect(networkFilesystemName(0xef53)).toBeUndefined(); // ext4
    const asked: string[] = [];
    const statfs = (folder: string): { type: number } => {
      asked.push(folder);
      if (folder !== '/mnt') throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return { type: 0x47504653 };
    };
    expect(networkFilesystemOf('/mnt/a/b/db.sqlite', statfs)).toBe('GPFS (IBM Storage Scale)');
    expect(asked).toEqual(['/mnt/a/b', '/mnt/a', '/mnt']);
    expect(networkFilesystemOf(path.join(dir, 'db.sqlite'))).toBeUndefined();
  });
});
