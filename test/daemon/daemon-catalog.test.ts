import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonCatalog } from '../../src/daemon/daemon-catalog.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'batch-daemon-catalog-'));
  mkdirSync(path.join(dir, 'models'));
  mkdirSync(path.join(dir, 'other'));
  for (const file of ['models/small.gguf', 'models/big.gguf', 'other/small.gguf', 'given.gguf']) writeFileSync(path.join(dir, file), 'GGUF');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DaemonCatalog', () => {
  it("serves `batch up`'s models and its --models-dir, the first --model as the default", () => {
    const catalog = new DaemonCatalog({ models: [`g=${path.join(dir, 'given.gguf')}`], modelsDir: path.join(dir, 'models') });
    expect(catalog.resolve(undefined)).toEqual({ id: 'g', path: path.join(dir, 'given.gguf') });
    expect(catalog.resolve('small').path).toBe(path.join(dir, 'models/small.gguf'));
    expect(catalog.list().map((m) => m.id)).toEqual(['g', 'big', 'small']);
  });

  it('takes a model file a run names by absolute path, under one id per file however often it is named', () => {
    const catalog = new DaemonCatalog({ modelsDir: path.join(dir, 'models') });
    const file = path.join(dir, 'other/small.gguf');
    const first = catalog.resolve(file);
    // Its stem is another file's id: made unique.
    expect(first).toEqual({ id: 'small-2', path: file });
    expect(catalog.add(file, 'mine')).toEqual(first);
    expect(catalog.resolve('small-2')).toEqual(first);
    // A file it knows by --models-dir keeps its id.
    expect(catalog.add(path.join(dir, 'models/big.gguf'), 'alias').id).toBe('big');
  });

  it('refuses a path that is no file, a relative path, and a request with no model and no default', () => {
    const catalog = new DaemonCatalog({});
    expect(() => catalog.resolve(path.join(dir, 'nope.gguf'))).toThrow(/no model file/);
    expect(() => catalog.add('relative.gguf')).toThrow(/absolute/);
    expect(() => catalog.resolve(undefined)).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
    expect(() => catalog.resolve('unknown')).toThrow(/serves no model "unknown"/);
  });
});
