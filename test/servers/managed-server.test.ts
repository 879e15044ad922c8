import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServerError } from '../../src/errors.js';
import { findFreePort } from '../../src/servers/free-port.js';
import { requestLocal } from '../../src/servers/request-local.js';
import { ManagedServer } from '../../src/servers/managed-server.js';
import { countLiveServers, stopAllServers } from '../../src/servers/server-registry.js';
import { waitForNoProcesses } from '../helpers/processes.js';
import { DIST_SERVERS, FIXTURES, isAlive, makeTempDir, readStartLog, waitUntilGone, writeFakeLlamaServer, writeFakeModel, writeSimLlamaServer } from './server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(async () => {
  await stopAllServers(500);
  temp.cleanup();
});

function server(binary: string, model: string, extra: Partial<ConstructorParameters<typeof ManagedServer>[0]> = {}): ManagedServer {
  return new ManagedServer({ launch: { kind: 'llama-server', binary }, modelPath: model, logDir: join(temp.dir, 'logs'), slots: 2, contextSize: 512, ...extra });
}

describe('ManagedServer', () => {
  it('waits through 503 while loading, is ready after the warm-up, and stops', async () => {
    const startLog = join(temp.dir, 'starts.jsonl');
    const binary = writeSimLlamaServer(temp.dir, { SIM_LOAD_MS: '400', SIM_START_LOG: startLog });
    const model = writeFakeModel(temp.dir, 'alpha.gguf');
    const managed = server(binary, model);
    const started = managed.start();
    expect(managed.state).toBe('starting');
    await started;
    expect(managed.state).toBe('ready');
    expect(managed.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(managed.loadMs).toBeGreaterThan(0);
    expect(managed.logPath).toBe(join(temp.dir, 'logs', 'alpha-1.log'));
    const [record] = readStartLog(startLog);
    expect(record?.pid).toBe(managed.pid);
    expect(`http://127.0.0.1:${record?.port}`).toBe(managed.url);
    expect(readFileSync(managed.logPath!, 'utf8')).toContain('n_slots = 2');
    expect((await requestLocal(`${managed.url}/health`, { timeoutMs: 2000 })).statusCode).toBe(200);
    expect(countLiveServers()).toBe(1);

    await managed.stop(2000);
    expect(managed.state).toBe('exited');
    expect(isAlive(managed.pid!)).toBe(false);
    expect((await managed.exited).expected).toBe(true);
    expect(countLiveServers()).toBe(0);
  });

  it('admits only batch: a fresh key per server, given through the environment, never on a command line', async () => {
    const model = writeFakeModel(temp.dir, 'keyed.gguf');
    const binary = writeSimLlamaServer(temp.dir);
    const first = server(binary, model);
    const second = server(binary, model);
    await Promise.all([first.start(), second.start()]);
    try {
      expect(first.apiKey).toMatch(/^[\w-]{32}$/);
      expect(second.apiKey).not.toBe(first.apiKey);
      // Health answers anyone, as llama-server's does; everything else wants the key.
      expect((await requestLocal(`${first.url}/health`, { timeoutMs: 2000 })).statusCode).toBe(200);
      expect((await requestLocal(`${first.url}/v1/models`, { timeoutMs: 2000 })).statusCode).toBe(401);
      expect((await requestLocal(`${first.url}/v1/models`, { timeoutMs: 2000, headers: { authorization: `Bearer ${second.apiKey}` } })).statusCode).toBe(401);
      expect((await requestLocal(`${first.url}/v1/models`, { timeoutMs: 2000, headers: { authorization: `Bearer ${first.apiKey}` } })).statusCode).toBe(200);
      // What `ps` shows: the command lines of the server and of its reaper.
      for (const pid of [first.pid!, first.reaperPid!]) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(first.apiKey);
      expect(readFileSync(`/proc/${first.pid!}/environ`, 'utf8').split('\0')).toContain(`LLAMA_API_KEY=${first.apiKey}`);
    } finally {
      await Promise.all([first.stop(1000), second.stop(1000)]);
    }
  });

  it('stops its server when the reaper itself is killed from outside (kill -9), and reports the exit', async () => {
    const managed = server(writeSimLlamaServer(temp.dir), writeFakeModel(temp.dir, 'orphan.gguf'));
    await managed.start();
    const serverPid = managed.pid!;
    process.kill(managed.reaperPid!, 'SIGKILL');
    const exit = await managed.exited;
    expect(exit).toMatchObject({ signal: 'SIGKILL', expected: false });
    expect(await waitUntilGone(serverPid)).toBe(true);
  });

  it('fails with SERVER_NOT_READY naming the log and its last lines when the server exits early', async () => {
    const managed = server(writeSimLlamaServer(temp.dir), join(temp.dir, 'broken.gguf'));
    const error = await managed.start().then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).code).toBe('SERVER_NOT_READY');
    const logPath = join(temp.dir, 'logs', 'broken-1.log');
    expect((error as Error).message).toContain(`llama-server for model broken.gguf exited with code 1 before it was ready; see ${logPath}`);
    expect((error as Error).message).toContain('main: exiting due to model loading error');
    expect(managed.state).toBe('exited');
    expect(countLiveServers()).toBe(0);
  });

  it('times out with SERVER_NOT_READY naming the timeout, the model and the log, and leaves no process', async () => {
    // /health answers 503 ("loading") for ten minutes: only the timeout can end this start, however
    // fast or slow the machine is, and nothing below depends on how far the server got meanwhile.
    const binary = writeSimLlamaServer(temp.dir, { SIM_LOAD_MS: '600000' });
    const model = writeFakeModel(temp.dir, 'slow.gguf');
    const managed = server(binary, model, { startupTimeoutMs: 700 });
    const error = await managed.start().then(() => undefined, (caught: unknown) => caught);
    expect((error as ServerError).code).toBe('SERVER_NOT_READY');
    expect((error as Error).message).toContain('llama-server for model slow.gguf was not ready after the startup timeout of 700 ms');
    expect((error as Error).message).toContain(`raise the startup timeout if the model is large, and see ${join(temp.dir, 'logs', 'slow-1.log')}`);
    expect(managed.state).toBe('exited');
    expect((await managed.exited).expected).toBe(true);
    expect(countLiveServers()).toBe(0);
    expect(isAlive(managed.reaperPid!)).toBe(false);
    expect(await waitForNoProcesses(model)).toEqual([]);
  });

  it('retries with a fresh port when the first one is taken (EADDRINUSE)', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busyPort = (blocker.address() as { port: number }).port;
    const startLog = join(temp.dir, 'starts.jsonl');
    const binary = writeSimLlamaServer(temp.dir, { SIM_START_LOG: startLog });
    const ports = [busyPort];
    const managed = server(binary, writeFakeModel(temp.dir, 'gamma.gguf'), { choosePort: () => Promise.resolve(ports.shift() ?? findFreePort()) });
    try {
      await managed.start();
      // The simulator records a start once it has bound its port: only the second try did.
      expect(readStartLog(startLog)).toHaveLength(1);
      expect(`http://127.0.0.1:${readStartLog(startLog)[0]!.port}`).toBe(managed.url);
      expect(managed.url).not.toBe(`http://127.0.0.1:${busyPort}`);
      expect(readFileSync(managed.logPath!, 'utf8')).toContain(`couldn't bind HTTP server socket, hostname: 127.0.0.1, port: ${busyPort}`);
      expect(managed.state).toBe('ready');
    } finally {
      await managed.stop(1000);
      blocker.close();
    }
  });

  it('gives up after three tries when every port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busyPort = (blocker.address() as { port: number }).port;
    const managed = server(writeSimLlamaServer(temp.dir), writeFakeModel(temp.dir, 'delta.gguf'), { choosePort: () => Promise.resolve(busyPort) });
    try {
      const error = await managed.start().then(() => undefined, (caught: unknown) => caught);
      expect((error as ServerError).code).toBe('SERVER_NOT_READY');
      expect((error as Error).message).toContain(`after 3 tries with fresh ports; the last was ${busyPort}`);
      expect((error as Error).message).toContain("couldn't bind HTTP server socket");
    } finally {
      blocker.close();
    }
  });

  it('fails with SERVER_NOT_READY when the log folder cannot be created', async () => {
    const notAFolder = writeFakeModel(temp.dir, 'file-not-folder');
    const managed = new ManagedServer({ launch: { kind: 'llama-server', binary: '/bin/true' }, modelPath: join(temp.dir, 'm.gguf'), slots: 1, contextSize: 512, logDir: join(notAFolder, 'logs') });
    const error = await managed.start().then(() => undefined, (caught: unknown) => caught);
    expect((error as ServerError).code).toBe('SERVER_NOT_READY');
    expect((error as Error).message).toContain(`cannot create the log of the llama-server for model m.gguf in ${join(notAFolder, 'logs')}`);
    expect(managed.state).toBe('exited');
  });

  it('requires slots and contextSize (their defaults live in the settings table)', () => {
    const launch = { kind: 'llama-server', binary: '/bin/true' } as const;
    const base = { launch, modelPath: join(temp.dir, 'm.gguf'), logDir: join(temp.dir, 'logs') };
    expect(() => new ManagedServer({ ...base, contextSize: 512 } as never)).toThrow('expected `slots` to be a whole number >= 1, got nothing');
    expect(() => new ManagedServer({ ...base, slots: 1 } as never)).toThrow('expected `contextSize` to be a whole number >= 1, got nothing');
    expect(() => new ManagedServer({ ...base, slots: 0, contextSize: 512 })).toThrow('expected `slots` to be a whole number >= 1, got 0');
  });

  it('SIGKILLs a server that ignores SIGTERM after the grace period', async () => {
    const binary = writeFakeLlamaServer(temp.dir, { SIM_IGNORE_SIGTERM: '1' });
    const managed = server(binary, writeFakeModel(temp.dir, 'stubborn.gguf'), { stopGraceMs: 300 });
    await managed.start();
    const pid = managed.pid!;
    await managed.stop();
    expect(isAlive(pid)).toBe(false);
    expect((await managed.exited).signal).toBe('SIGKILL');
    expect(readFileSync(managed.logPath!, 'utf8')).toContain('ignoring SIGTERM');
  });

  it('reports a crash after ready through onExit', async () => {
    const exits: unknown[] = [];
    const managed = server(writeSimLlamaServer(temp.dir), writeFakeModel(temp.dir, 'crashy.gguf'), { onExit: (exit) => exits.push(exit) });
    await managed.start();
    process.kill(managed.pid!, 'SIGKILL');
    const exit = await managed.exited;
    expect(exit.expected).toBe(false);
    expect(exits).toEqual([exit]);
    expect(countLiveServers()).toBe(0);
  });

  it('leaves no server behind when batch is killed with SIGKILL', async () => {
    const binary = writeSimLlamaServer(temp.dir);
    const model = writeFakeModel(temp.dir, 'orphan.gguf');
    const script = spawn(process.execPath, [join(FIXTURES, 'start-server.mjs'), join(DIST_SERVERS, 'managed-server.js'), binary, model, join(temp.dir, 'logs')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => script.once('exit', resolve));
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      script.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(text.split('\n')[0]!);
      });
      script.once('exit', (code) => reject(new Error(`start-server.mjs exited with ${String(code)} before printing the pid`)));
    });
    const { pid, reaperPid } = JSON.parse(line) as { pid: number; reaperPid: number };
    expect(isAlive(pid)).toBe(true);
    script.kill('SIGKILL');
    await exited;
    expect(await waitUntilGone(pid)).toBe(true);
    expect(await waitUntilGone(reaperPid)).toBe(true);
  });
});
