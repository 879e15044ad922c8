import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { machineIdentity } from '../../src/hardware/machine-identity.js';
import { runCliInProcess } from '../helpers/run-cli-in-process.js';
import { repoRoot } from '../helpers/sim-process.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'batch-optimize-advice-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('`batch optimize` saves advice for this machine only', () => {
  it('a what-if plan (--hardware) is printed but never saved as this machine\'s advice', async () => {
    const home = path.join(dir, 'what-if');
    const profile = path.join(repoRoot, 'test/hardware/fixtures/a100x2.json');
    const result = await runCliInProcess(['optimize', '--hardware', profile], { env: { BATCH_HOME: home } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--workers \d+/);
    expect(result.stderr).toContain(`advice for ${profile} is not saved: it plans for another machine (what-if)`);
    expect(existsSync(path.join(home, 'advice.json'))).toBe(false);
  });

  it('a plan for this machine is saved with its identity, which `batch run` compares', async () => {
    const home = path.join(dir, 'here');
    const result = await runCliInProcess(['optimize'], { env: { BATCH_HOME: home } });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('advice saved to');
    const saved = JSON.parse(readFileSync(path.join(home, 'advice.json'), 'utf8')) as Record<string, unknown>;
    expect(saved.machine).toBe(machineIdentity());
    expect(saved.contextSize).toBe(2048);
  });
});
