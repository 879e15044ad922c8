import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeFolder } from '../../src/util/make-folder.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-make-folder-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('makeFolder', () => {
  it('creates every missing folder with the mode, and accepts one that is there', () => {
    const deep = path.join(dir, 'a', 'b', 'c');
    makeFolder(deep, 0o700);
    makeFolder(deep, 0o700);
    for (const folder of [path.join(dir, 'a'), path.join(dir, 'a', 'b'), deep]) expect(statSync(folder).mode & 0o777).toBe(0o700);
  });

  it('fails at once where the kernel makes no folder although the parent is there (/proc), naming it', () => {
    // mkdirSync(…, { recursive: true }) spins forever here.
    expect(() => makeFolder('/proc/nope/x')).toThrow(/^cannot create the folder \/proc\/nope \(ENOENT\): the file system there does not let folders be made/);
  });

  it('fails with ENOTDIR when a file is in the way', () => {
    writeFileSync(path.join(dir, 'file'), '');
    let error: NodeJS.ErrnoException | undefined;
    try {
      makeFolder(path.join(dir, 'file', 'sub'));
    } catch (caught) {
      error = caught as NodeJS.ErrnoException;
    }
    expect(error?.code).toBe('ENOTDIR');
    expect(error?.message).toContain(`cannot create the folder ${path.join(dir, 'file')} (ENOTDIR)`);
  });
});
