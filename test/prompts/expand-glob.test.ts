import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expandGlob, isGlobPattern } from '../../src/prompts/expand-glob.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

let tmp: TempDir;
beforeEach(() => {
  tmp = makeTempDir();
  for (const file of ['a.md', 'b.txt', '.hidden.md', 'x/c.md', 'x/y/d.md', 'x/.git/e.md', 'x/node_modules/f.md', 'z1.md', 'z22.md']) {
    tmp.write(file, 'p');
  }
});
afterEach(() => {
  tmp.remove();
});

const displays = async (pattern: string, cwd = tmp.dir) => (await expandGlob(pattern, cwd)).map((m) => m.display);

describe('expandGlob', () => {
  it('matches * and ? within one segment, skipping dot-files', async () => {
    expect(await displays('*.md')).toEqual(['a.md', 'z1.md', 'z22.md']);
    expect(await displays('z?.md')).toEqual(['z1.md']);
    expect(await displays('x/*')).toEqual(['x/c.md']);
  });

  it('matches any depth with **, including none, skipping dot-folders and node_modules', async () => {
    expect(await displays('x/**/*.md')).toEqual(['x/c.md', 'x/y/d.md']);
    expect(await displays('**/d.md')).toEqual(['x/y/d.md']);
    expect(await displays('x/**')).toEqual(['x/c.md', 'x/y/d.md']);
  });

  it('matches dot-files when the pattern segment starts with a dot', async () => {
    expect(await displays('.h*')).toEqual(['.hidden.md']);
  });

  it('keeps absolute patterns absolute and relative ones relative, with `..`', async () => {
    const matches = await expandGlob(path.join(tmp.dir, 'x', '*.md'), '/');
    expect(matches).toEqual([{ filePath: path.join(tmp.dir, 'x/c.md'), display: `${tmp.dir}/x/c.md` }]);
    expect(await displays('../*.md', path.join(tmp.dir, 'x'))).toEqual(['../a.md', '../z1.md', '../z22.md']);
  });

  it('treats regex characters literally and matches nothing in a missing folder', async () => {
    tmp.write('v(1).md', 'p');
    expect(await displays('v(?).md')).toEqual(['v(1).md']);
    expect(await displays('nope/**/*.md')).toEqual([]);
  });

  it('recognises patterns', () => {
    expect(isGlobPattern('a/**/*.md')).toBe(true);
    expect(isGlobPattern('a?.md')).toBe(true);
    expect(isGlobPattern('prompts/a.md')).toBe(false);
  });
});
