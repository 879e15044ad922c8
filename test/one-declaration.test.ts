import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const srcDir = path.resolve(import.meta.dirname, '../src');

/** Every exported interface and type alias under src/, by name, with the files that declare it. */
function exportedTypes(): Map<string, string[]> {
  const declared = new Map<string, string[]>();
  const files = readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    for (const match of readFileSync(path.join(srcDir, file), 'utf8').matchAll(/^export (?:interface|type) (\w+)/gm)) {
      const name = match[1]!;
      declared.set(name, [...(declared.get(name) ?? []), file.split(path.sep).join('/')]);
    }
  }
  return declared;
}

describe('one declaration of each type', () => {
  it('no exported interface or type is declared in two files of src/ (re-export it instead)', () => {
    const types = exportedTypes();
    expect(types.get('RowData')).toEqual(['prompts/row-data.ts']);
    expect([...types].filter(([, files]) => files.length > 1)).toEqual([]);
  });
});
