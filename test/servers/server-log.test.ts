import { mkdtempSync, rmSync, statSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openServerLog } from '../../src/servers/server-log.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'batch-server-log-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('openServerLog', () => {
  it('creates the log 0600 and every folder it makes 0700, like the job databases', () => {
    // checkpoints/ does not exist yet: `batch optimize --measure` makes it with optimize.logs/.
    const logDir = path.join(root, 'checkpoints', 'optimize.logs');
    const log = openServerLog(logDir, '/models/tiny.gguf');
    closeSync(log.fd);
    expect(log.path).toBe(path.join(logDir, 'tiny-1.log'));
    expect(statSync(log.path).mode & 0o777).toBe(0o600);
    expect(statSync(logDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(root, 'checkpoints')).mode & 0o777).toBe(0o700);
  });

  it('gives each start a log of its own', () => {
    const logDir = path.join(root, 'again');
    const first = openServerLog(logDir, 'm.gguf');
    const second = openServerLog(logDir, 'm.gguf');
    closeSync(first.fd);
    closeSync(second.fd);
    expect([path.basename(first.path), path.basename(second.path)]).toEqual(['m-1.log', 'm-2.log']);
  });
});
