import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServerError } from '../../src/errors.js';
import { ModelCatalog } from '../../src/servers/model-catalog.js';
import { makeTempDir, writeFakeModel } from './server-fixtures.js';

let temp: { dir: string; cleanup: () => void };
beforeEach(() => {
  temp = makeTempDir();
});
afterEach(() => temp.cleanup());

function caught(fn: () => unknown): ServerError {
  try {
    fn();
  } catch (error) {
    return error as ServerError;
  }
  throw new Error('expected a throw');
}

describe('ModelCatalog', () => {
  it('resolves --model files by basename, alias and path; the first is the default', () => {
    const a = writeFakeModel(temp.dir, 'a.gguf');
    const b = writeFakeModel(temp.dir, 'b.gguf');
    const catalog = new ModelCatalog({ models: ['a.gguf', `fast=${b}`], cwd: temp.dir });
    expect(catalog.resolve(undefined)).toEqual({ id: 'a', path: a });
    expect(catalog.resolve('a')).toEqual({ id: 'a', path: a });
    expect(catalog.resolve('a.gguf')).toEqual({ id: 'a', path: a });
    expect(catalog.resolve('fast')).toEqual({ id: 'fast', path: b });
    expect(catalog.resolve('b')).toEqual({ id: 'fast', path: b });
  });

  it('finds names in --models-dir as DIR/name, DIR/name.gguf or a .gguf file of that name below', () => {
    const exact = writeFakeModel(temp.dir, 'exact-name');
    const plain = writeFakeModel(temp.dir, 'plain.gguf');
    mkdirSync(join(temp.dir, 'org'));
    const nested = writeFakeModel(join(temp.dir, 'org'), 'Nested-Q4.gguf');
    const catalog = new ModelCatalog({ modelsDir: temp.dir });
    expect(catalog.resolve('exact-name').path).toBe(exact);
    expect(catalog.resolve('plain')).toEqual({ id: 'plain', path: plain });
    expect(catalog.resolve('Nested-Q4')).toEqual({ id: 'Nested-Q4', path: nested });
    expect(catalog.defaultModel).toBeUndefined();
    expect(caught(() => catalog.resolve('../escape')).code).toBe('MODEL_NOT_FOUND');
  });

  it('says where it looked and how to fix an unknown model', () => {
    writeFakeModel(temp.dir, 'a.gguf');
    writeFakeModel(temp.dir, 'b.gguf');
    mkdirSync(join(temp.dir, 'models'));
    const catalog = new ModelCatalog({ models: ['a.gguf', 'b.gguf'], modelsDir: 'models', cwd: temp.dir });
    const error = caught(() => catalog.resolve('x'));
    expect(error).toBeInstanceOf(ServerError);
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.message).toBe('prompt asks for model "x", which is not among --model a.gguf, b.gguf or in --models-dir models; add --model path/to/x.gguf');
  });

  it('rejects a --model file that does not exist, and a prompt without a model when there is no default', () => {
    const missing = caught(() => new ModelCatalog({ models: ['nope.gguf'], cwd: temp.dir }));
    expect(missing.message).toContain(`--model nope.gguf: no such file ${join(temp.dir, 'nope.gguf')}`);
    expect(missing.code).toBe('MODEL_FILE_NOT_FOUND');
    const error = caught(() => new ModelCatalog({ cwd: temp.dir }).resolve(undefined));
    expect(error.code).toBe('MODEL_NOT_FOUND');
    expect(error.message).toContain('add --model path/to/model.gguf');
  });
});
