import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findCachedLlamaServer, findLlamaCppSource, llamaCppCacheDir } from '../../src/setup/llama-cpp-cache.js';
import { makeTempDir } from '../servers/server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(() => temp.cleanup());

describe('llamaCppCacheDir', () => {
  it('is $BATCH_LLAMA_CPP_DIR, else under $XDG_CACHE_HOME, else ~/.cache/batch/llama.cpp', () => {
    expect(llamaCppCacheDir({ BATCH_LLAMA_CPP_DIR: '/x/llama', XDG_CACHE_HOME: '/xdg', HOME: '/home/u' })).toBe('/x/llama');
    expect(llamaCppCacheDir({ XDG_CACHE_HOME: '/xdg', HOME: '/home/u' })).toBe('/xdg/batch/llama.cpp');
    expect(llamaCppCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/batch/llama.cpp');
  });
});

describe('findLlamaCppSource', () => {
  it("reads the tag and bundle node-llama-cpp ships", () => {
    const llamaDir = join(process.cwd(), 'node_modules', 'node-llama-cpp', 'llama');
    const { tag } = JSON.parse(readFileSync(join(llamaDir, 'llama.cpp.info.json'), 'utf8')) as { tag: string };
    expect(findLlamaCppSource()).toEqual({ tag, bundlePath: join(llamaDir, 'gitRelease.bundle') });
  });

  it('is undefined without a bundle, or with a tag that cannot name a folder', () => {
    const dir = join(temp.dir, 'llama');
    mkdirSync(dir);
    writeFileSync(join(dir, 'llama.cpp.info.json'), JSON.stringify({ tag: 'b1' }));
    expect(findLlamaCppSource(dir)).toBeUndefined();
    writeFileSync(join(dir, 'gitRelease.bundle'), '');
    expect(findLlamaCppSource(dir)).toEqual({ tag: 'b1', bundlePath: join(dir, 'gitRelease.bundle') });
    writeFileSync(join(dir, 'llama.cpp.info.json'), JSON.stringify({ tag: '../x' }));
    expect(findLlamaCppSource(dir)).toBeUndefined();
  });
});

describe('findCachedLlamaServer', () => {
  it('looks only where the environment it is given says: none of its variables, no cache', () => {
    const source = { tag: 'b1', bundlePath: '/b.bundle' };
    const dir = join(temp.dir, '.cache', 'batch', 'llama.cpp', 'b1', 'cpu');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(join(dir, 'bin', 'llama-server'), '');
    writeFileSync(join(dir, 'build.json'), JSON.stringify({ tag: 'b1', backend: 'cpu', builtAt: '', version: '' }));
    expect(findCachedLlamaServer({ HOME: temp.dir }, source)?.serverPath).toBe(join(dir, 'bin', 'llama-server'));
    expect(findCachedLlamaServer({}, source)).toBeUndefined();
  });
});
