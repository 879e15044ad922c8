import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseModelOption } from '../../src/models/parse-model-option.js';

const dir = mkdtempSync(join(tmpdir(), 'batch-model-option-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseModelOption', () => {
  it('reads a plain path, made absolute against cwd', () => {
    expect(parseModelOption('models/a.gguf', dir)).toEqual({ path: join(dir, 'models/a.gguf') });
    expect(parseModelOption('/abs/a.gguf', dir)).toEqual({ path: '/abs/a.gguf' });
  });

  it('reads alias=path, the path made absolute', () => {
    expect(parseModelOption('fast=models/a.gguf', dir)).toEqual({ alias: 'fast', path: join(dir, 'models/a.gguf') });
    expect(parseModelOption('fast=/abs/a=b.gguf', dir)).toEqual({ alias: 'fast', path: '/abs/a=b.gguf' });
  });

  it('keeps an existing file whose name has a "=" as a path, not an alias', () => {
    writeFileSync(join(dir, 'q=4.gguf'), 'x');
    expect(parseModelOption('q=4.gguf', dir)).toEqual({ path: join(dir, 'q=4.gguf') });
    // The same text with no such file is an alias.
    expect(parseModelOption('q=5.gguf', dir)).toEqual({ alias: 'q', path: join(dir, '5.gguf') });
  });

  it('reads a "=" after a slash, a leading "=" or a trailing "=" as part of the path', () => {
    expect(parseModelOption('dir/q=4.gguf', dir)).toEqual({ path: join(dir, 'dir/q=4.gguf') });
    expect(parseModelOption('=a.gguf', dir)).toEqual({ path: join(dir, '=a.gguf') });
    expect(parseModelOption('alias=', dir)).toEqual({ path: join(dir, 'alias=') });
  });
});
