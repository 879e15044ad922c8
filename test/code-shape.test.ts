import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * STYLE.md's shape rules for src/: no function past ~80 lines (a function that needs a scroll is
 * several phases waiting for names) and no file past ~300 lines unless its first lines say why,
 * in a comment starting `Long file:` (for instance `// Long file: one state machine, split it
 * and its invariants spread over five files`).
 */
const maxFunctionLines = 80;
const maxFileLines = 300;
/** How far down a file its `Long file:` reason may start. */
const reasonWithinLines = 10;

/**
 * Offenders that predate this test, in rooms other sessions are reshaping: each entry goes when
 * its function or file is split. Nothing may be added here; a new long function is split instead.
 */
const allowedLongFunctions: readonly string[] = [];
const allowedLongFiles: readonly string[] = [];

const srcDir = path.resolve(import.meta.dirname, '../src');

interface LongFunction {
  /** `file: name`, the name as `Class.method`, `outer > inner` for one inside another. */
  readonly id: string;
  readonly lines: number;
}

/** A readable name for a function-like node: its declaration, the variable or property it is assigned to, else its line. */
function nameOf(node: ts.Node, source: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  let own: string | undefined;
  if (named.name !== undefined && (ts.isIdentifier(named.name) || ts.isPrivateIdentifier(named.name) || ts.isStringLiteral(named.name))) own = named.name.text;
  else if (ts.isConstructorDeclaration(node)) own = 'constructor';
  else if (ts.isVariableDeclaration(node.parent) && ts.isIdentifier(node.parent.name)) own = node.parent.name.text;
  else if (ts.isPropertyAssignment(node.parent) || ts.isPropertyDeclaration(node.parent)) own = node.parent.name.getText(source);
  own ??= `(function at line ${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1})`;
  const owner = node.parent;
  if ((ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node) || ts.isPropertyDeclaration(node.parent)) && ts.isClassLike(owner.parent ?? owner)) {
    const klass = ts.isClassLike(owner) ? owner : owner.parent;
    if (ts.isClassLike(klass) && klass.name !== undefined) return `${klass.name.text}.${own}`;
  }
  if (ts.isClassLike(owner) && owner.name !== undefined) return `${owner.name.text}.${own}`;
  return own;
}

/** Every function, method, constructor, accessor and arrow function in `file` longer than the limit. */
function longFunctionsOf(file: string, text: string): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node, outer: readonly string[]): void => {
    let names = outer;
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body !== undefined) {
      const name = nameOf(node, source);
      names = [...outer, name];
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > maxFunctionLines) found.push({ id: `${file}: ${names.join(' > ')}`, lines });
    }
    ts.forEachChild(node, (child) => visit(child, names));
  };
  visit(source, []);
  return found;
}

/** Whether the first lines of `text` hold a comment that says why the file is long. */
function saysWhyItIsLong(text: string): boolean {
  return text
    .split('\n', reasonWithinLines)
    .some((line) => /^\s*(\/\/|\/\*+|\*)\s*Long file:\s*\S/.test(line));
}

function sourceFiles(): string[] {
  return readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.split(path.sep).join('/'))
    .sort();
}

describe('the shape of src/ (STYLE.md)', () => {
  const files = sourceFiles().map((file) => ({ file, text: readFileSync(path.join(srcDir, file), 'utf8') }));

  it(`has no function over ${maxFunctionLines} lines outside the allow-list`, () => {
    const long = files.flatMap(({ file, text }) => longFunctionsOf(file, text));
    const offenders = long.filter((found) => !allowedLongFunctions.includes(found.id)).map((found) => `${found.id} (${found.lines} lines)`);
    expect(offenders, 'split these into named phases (or, for a pre-existing one, ask the integrator)').toEqual([]);
    // An entry whose function was split (or renamed) goes, so the list only shrinks.
    const stale = allowedLongFunctions.filter((id) => !long.some((found) => found.id === id));
    expect(stale, 'no longer over the limit: remove from allowedLongFunctions').toEqual([]);
  });

  it(`has no file over ${maxFileLines} lines without a "Long file:" reason at its top, outside the allow-list`, () => {
    const long = files.filter(({ text }) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0) > maxFileLines);
    const offenders = long.filter(({ file, text }) => !saysWhyItIsLong(text) && !allowedLongFiles.includes(file)).map(({ file, text }) => `${file} (${text.split('\n').length - 1} lines)`);
    expect(offenders, 'split these, or write `// Long file: <why>` in their first lines').toEqual([]);
    const stale = allowedLongFiles.filter((file) => !long.some((found) => found.file === file));
    expect(stale, 'no longer over the limit: remove from allowedLongFiles').toEqual([]);
  });

  it('measures what it says: a long function, a long arrow inside another, a class method, a reason', () => {
    const body = (n: number): string => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = [
      `export function long(): void {\n${body(maxFunctionLines - 1)}\n}`,
      `export function outer(): void {\n  [1].map(() => {\n${body(maxFunctionLines)}\n  });\n}`,
      `class Box {\n  open(): void {\n${body(maxFunctionLines)}\n  }\n  close(): void {}\n}`,
      `const fits = (): void => {\n${body(maxFunctionLines - 2)}\n};`,
    ].join('\n');
    expect(longFunctionsOf('x.ts', text).map((found) => `${found.id} (${found.lines})`)).toEqual([
      `x.ts: long (${maxFunctionLines + 1})`,
      // A function is as long as its text, the functions inside it included; each of those counts too.
      `x.ts: outer (${maxFunctionLines + 4})`,
      `x.ts: outer > (function at line ${maxFunctionLines + 3}) (${maxFunctionLines + 2})`,
      `x.ts: Box.open (${maxFunctionLines + 2})`,
    ]);
    expect(saysWhyItIsLong('import x from "y";\n// Long file: one parser, its grammar in one place\n')).toBe(true);
    expect(saysWhyItIsLong('/**\n * Long file: the engine and its slots share state\n */\n')).toBe(true);
    expect(saysWhyItIsLong('// a long file, sorry\n')).toBe(false);
    expect(saysWhyItIsLong(`${'\n'.repeat(reasonWithinLines)}// Long file: too far down\n`)).toBe(false);
  });
});
