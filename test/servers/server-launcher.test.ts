import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseEmbeddedServerFlags } from '../../src/embedded/embedded-server-flags.js';
import { findFreePort } from '../../src/servers/free-port.js';
import { buildServerCommand, findLlamaServer, validateServerLaunch } from '../../src/servers/server-launcher.js';
import { makeTempDir } from './server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(() => temp.cleanup());

const shape = { modelPath: '/m/a.gguf', port: 4321, slots: 4, contextSize: 2048 };

describe('buildServerCommand', () => {
  it('builds llama-server flags bound to 127.0.0.1, -c the total context of its slots (--ctx is per slot), then the extra arguments', () => {
    expect(buildServerCommand({ kind: 'llama-server', binary: '/bin/llama-server', gpuLayers: 99, extraArgs: ['--flash-attn', 'on'] }, shape)).toEqual({
      command: '/bin/llama-server',
      args: ['-m', '/m/a.gguf', '--host', '127.0.0.1', '--port', '4321', '-np', '4', '-c', '8192', '-ngl', '99', '--flash-attn', 'on'],
      label: 'llama-server',
    });
  });

  it('passes -t only when threads are given: llama-server keeps its own default otherwise', () => {
    expect(buildServerCommand({ kind: 'llama-server', binary: '/bin/llama-server', threads: 2 }, shape).args).toEqual(['-m', '/m/a.gguf', '--host', '127.0.0.1', '--port', '4321', '-np', '4', '-c', '8192', '-t', '2']);
    expect(buildServerCommand({ kind: 'llama-server', binary: '/bin/llama-server' }, shape).args).not.toContain('-t');
    expect(() => validateServerLaunch({ kind: 'llama-server', binary: '/bin/llama-server', threads: 0 })).toThrow(UsageError);
  });

  it('runs the embedded server with this node and its compiled entry point', () => {
    const command = buildServerCommand({ kind: 'embedded', threads: 2, gpu: 'off' }, shape);
    expect(command.command).toBe(process.execPath);
    expect(command.args[0]).toMatch(/dist[\\/]embedded[\\/]embedded-server-main\.js$/);
    expect(command.args.slice(1)).toEqual(['--model', '/m/a.gguf', '--host', '127.0.0.1', '--port', '4321', '--parallel', '4', '--ctx', '2048', '--threads', '2', '--gpu', 'off']);
  });

  it('passes --gpu-layers to the embedded server, which hands it to node-llama-cpp', () => {
    const command = buildServerCommand({ kind: 'embedded', threads: 1, gpuLayers: 7 }, shape);
    expect(command.args.slice(-4)).toEqual(['--gpu', 'auto', '--gpu-layers', '7']);
    expect(parseEmbeddedServerFlags({ slots: '1', contextSize: '0', gpuLayers: '7' }, 0)).toMatchObject({ gpuLayers: 7 });
    expect(() => parseEmbeddedServerFlags({ slots: '1', contextSize: '0', gpuLayers: '-1' }, 0)).toThrow('expected `--gpu-layers` to be a whole number >= 0');
    expect(() => validateServerLaunch({ kind: 'embedded', threads: 1, gpuLayers: -1 })).toThrow(UsageError);
  });
});

describe('findLlamaServer', () => {
  const source = { tag: 'b1234', bundlePath: '/nm/gitRelease.bundle' };
  /** A finished build in the cache, as `batch setup llama-server` leaves it. */
  function writeCachedBuild(cacheDir: string, tag: string, withRecord = true): string {
    const bin = join(cacheDir, tag, 'cpu', 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'llama-server'), '#!/bin/sh\n');
    chmodSync(join(bin, 'llama-server'), 0o755);
    if (withRecord) writeFileSync(join(cacheDir, tag, 'cpu', 'build.json'), JSON.stringify({ tag, backend: 'cpu', builtAt: '', version: '' }));
    return join(bin, 'llama-server');
  }

  it('prefers the explicit binary, then llama-server on PATH, then the build in the cache, else undefined', () => {
    const cacheDir = join(temp.dir, 'cache');
    const cached = writeCachedBuild(cacheDir, 'b1234');
    const bin = join(temp.dir, 'bin');
    mkdirSync(bin);
    const onPath = join(bin, 'llama-server');
    writeFileSync(onPath, '#!/bin/sh\n');
    chmodSync(onPath, 0o755);
    const env = { BATCH_LLAMA_CPP_DIR: cacheDir };
    expect(findLlamaServer({ ...env, PATH: bin }, undefined, { source })).toBe(onPath);
    expect(findLlamaServer({ ...env, PATH: '/nonexistent' }, undefined, { source })).toBe(cached);
    expect(findLlamaServer({ ...env, PATH: '/nonexistent' }, undefined, { source: { ...source, tag: 'b9999' } })).toBeUndefined();
    expect(findLlamaServer({ BATCH_LLAMA_CPP_DIR: join(temp.dir, 'empty'), PATH: '/nonexistent' }, undefined, { source })).toBeUndefined();
  });

  it('ignores a half-built cache folder (no build.json)', () => {
    const cacheDir = join(temp.dir, 'cache');
    writeCachedBuild(cacheDir, 'b1234', false);
    expect(findLlamaServer({ BATCH_LLAMA_CPP_DIR: cacheDir, PATH: '' }, undefined, { source })).toBeUndefined();
  });

  it('prefers the explicit binary, then llama-server on PATH, else undefined', () => {
    const bin = join(temp.dir, 'bin');
    mkdirSync(bin);
    const onPath = join(bin, 'llama-server');
    writeFileSync(onPath, '#!/bin/sh\n');
    chmodSync(onPath, 0o755);
    const explicit = join(temp.dir, 'my-llama');
    writeFileSync(explicit, '#!/bin/sh\n');
    chmodSync(explicit, 0o755);
    const noCache = { BATCH_LLAMA_CPP_DIR: join(temp.dir, 'no-cache') };
    expect(findLlamaServer({ ...noCache, PATH: `/nonexistent:${bin}` }, explicit)).toBe(explicit);
    expect(findLlamaServer({ ...noCache, PATH: `/nonexistent:${bin}` })).toBe(onPath);
    expect(findLlamaServer({ ...noCache, PATH: '/nonexistent' })).toBeUndefined();
    expect(findLlamaServer(noCache)).toBeUndefined();
  });

  it('skips a llama-server on PATH that is not executable, and rejects such an explicit one', () => {
    const bin = join(temp.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'llama-server'), '');
    chmodSync(join(bin, 'llama-server'), 0o644);
    expect(findLlamaServer({ BATCH_LLAMA_CPP_DIR: join(temp.dir, 'no-cache'), PATH: bin })).toBeUndefined();
    expect(() => findLlamaServer({}, join(bin, 'llama-server'))).toThrow(UsageError);
    expect(() => findLlamaServer({}, join(bin, 'llama-server'))).toThrow('not executable');
  });
});

describe('findFreePort', () => {
  it('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await findFreePort();
    expect(port).toBeGreaterThan(0);
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });
});
