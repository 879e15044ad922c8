import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-up-refusals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('batch up refuses bad settings before any daemon starts (exit 2)', () => {
  it.each([
    [['--port', '99999'], 'expected `--port` to be a TCP port from 0 (any free one) to 65535, got 99999'],
    [['--idle', '0'], 'expected `--idle` to be a duration such as 6h, 90m, 45s or 1h30m'],
    [['--model', 'nope.gguf'], '--model nope.gguf: no such file'],
    [['--metrics-listen', 'bogus'], 'expected `--metrics-listen` to be HOST:PORT'],
  ])('%s', async (flags, message) => {
    const home = path.join(dir, flags[0]!.replace(/^--/, ''));
    const result = await runCliInProcess(['up', ...flags], { env: { BATCH_HOME: home }, cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(existsSync(path.join(home, 'daemon', 'daemon.json'))).toBe(false);
  });
});
