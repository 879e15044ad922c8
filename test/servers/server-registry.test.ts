import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManagedServer } from '../../src/servers/managed-server.js';
import { countLiveServers, stopAllServers, stopAllServersSync } from '../../src/servers/server-registry.js';
import { DIST_SERVERS, FIXTURES, isAlive, makeTempDir, waitUntilGone, writeFakeLlamaServer, writeFakeModel, writeSimLlamaServer } from './server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(async () => {
  await stopAllServers(500);
  temp.cleanup();
});

describe('server registry', () => {
  it('stopAllServers stops every live server', async () => {
    const binary = writeSimLlamaServer(temp.dir);
    const servers = ['one.gguf', 'two.gguf'].map(
      (name) => new ManagedServer({ launch: { kind: 'llama-server', binary }, modelPath: writeFakeModel(temp.dir, name), slots: 1, contextSize: 512, logDir: join(temp.dir, 'logs') }),
    );
    await Promise.all(servers.map((server) => server.start()));
    expect(countLiveServers()).toBe(2);
    await stopAllServers(1000);
    expect(countLiveServers()).toBe(0);
    for (const server of servers) expect(isAlive(server.pid!)).toBe(false);
  });

  it('stopAllServersSync SIGKILLs servers at once', async () => {
    const binary = writeFakeLlamaServer(temp.dir, { SIM_IGNORE_SIGTERM: '1' });
    const server = new ManagedServer({ launch: { kind: 'llama-server', binary }, modelPath: writeFakeModel(temp.dir, 'one.gguf'), slots: 1, contextSize: 512, logDir: join(temp.dir, 'logs'), stopGraceMs: 60_000 });
    await server.start();
    stopAllServersSync();
    expect(countLiveServers()).toBe(0);
    expect((await server.exited).signal).toBe('SIGKILL');
    expect(await waitUntilGone(server.pid!)).toBe(true);
  });

  it('installServerCleanup kills servers when the process exits, and installs once', async () => {
    const binary = writeFakeLlamaServer(temp.dir, { SIM_IGNORE_SIGTERM: '1' });
    const model = writeFakeModel(temp.dir, 'exit.gguf');
    const { stdout } = await promisify(execFile)(process.execPath, [join(FIXTURES, 'exit-with-cleanup.mjs'), DIST_SERVERS, binary, model, join(temp.dir, 'logs')], { timeout: 30_000 });
    const { pid, exitListeners } = JSON.parse(stdout) as { pid: number; exitListeners: number };
    expect(exitListeners).toBe(1);
    // The server ignores SIGTERM and the reaper's grace is a minute: only the SIGKILL ends it now.
    expect(await waitUntilGone(pid, 10_000)).toBe(true);
  });
});
