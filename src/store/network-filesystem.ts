import { statfsSync } from 'node:fs';
import path from 'node:path';

/**
 * Filesystems on which SQLite's WAL is not safe (its shared memory and locks do not work across
 * machines; SQLite's own documentation names network filesystems), by the `f_type` magic number
 * Linux's statfs(2) reports. FUSE is listed because the shared filesystems of clusters that do not
 * have a kernel client (GlusterFS, JuiceFS, sshfs, gcsfuse, s3fs) mount through it.
 */
const networkFilesystems: ReadonlyMap<number, string> = new Map([
  [0x6969, 'NFS'],
  [0x517b, 'SMB'],
  [0xff534d42, 'CIFS'],
  [0xfe534d42, 'SMB2'],
  [0x00c36400, 'CephFS'],
  [0x0bd00bd0, 'Lustre'],
  [0x47504653, 'GPFS (IBM Storage Scale)'],
  [0x19830326, 'BeeGFS'],
  [0x5346414f, 'AFS'],
  [0x01021997, '9P'],
  [0x7461636f, 'OCFS2'],
  [0x01161970, 'GFS2'],
  [0x65735546, 'FUSE'],
]);

/** The name of the network filesystem with statfs type `type`, or undefined for a local one. */
export function networkFilesystemName(type: number): string | undefined {
  return networkFilesystems.get(type);
}

/**
 * The network filesystem that holds `file` (or would: the nearest folder above it that exists is
 * asked), or undefined on a local disk or where statfs cannot tell.
 */
export function networkFilesystemOf(file: string, statfs: (dir: string) => { readonly type: number } = statfsSync): string | undefined {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    try {
      return networkFilesystemName(Number(statfs(dir).type));
    } catch (error) {
      const parent = path.dirname(dir);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dir) return undefined;
      dir = parent;
    }
  }
}
