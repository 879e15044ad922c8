import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/, outermost first (STYLE.md): a module may import its own layer or a lower one,
 * never a higher one, and no two folders may import each other, directly or round a circle.
 * output/ sits below store/ because the store's result writer grows the output file as it commits:
 * the output formats take what they read as arguments (a page reader, an `OutputSource`), so the
 * store can call them and they never call it back.
 */
const layers: ReadonlyArray<readonly string[]> = [
  ['index.ts'],
  ['cli'],
  ['app/run'],
  ['app/routing', 'app/job', 'app/daemon'],
  ['app/settings'],
  ['reporting'],
  ['scheduler', 'servers', 'embedded', 'setup', 'store', 'hardware', 'daemon'],
  ['output', 'prompts'],
  ['backends', 'models'],
  ['util', 'errors.ts', 'exit-code.ts', 'defaults.ts'],
];

const srcDir = path.resolve(import.meta.dirname, '../src');

interface Edge {
  readonly from: string;
  readonly to: string;
}

/** The part of src/ a file belongs to: its top folder (app/'s rooms are parts of their own), or the file itself at the top. */
function unitOf(relative: string): string {
  const parts = relative.split('/');
  return parts[0] === 'app' && parts.length > 2 ? `app/${parts[1]}` : parts[0]!;
}

function rankOf(unit: string): number {
  const rank = layers.findIndex((layer) => layer.includes(unit));
  if (rank < 0) throw new Error(`src/${unit} is in no layer of test/layers.test.ts: add it where it belongs`);
  return rank;
}

/** Every relative import of every .ts file under src/ (static, type-only and dynamic), as file paths relative to src/. */
function importsOf(dir: string): Edge[] {
  const edges: Edge[] = [];
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  for (const file of files) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
      const target = path.relative(dir, path.resolve(path.dirname(path.join(dir, file)), match[1]!)).replace(/\.js$/, '.ts');
      edges.push({ from: file.split(path.sep).join('/'), to: target.split(path.sep).join('/') });
    }
  }
  return edges;
}

/** The .ts files under `dir` (relative, with /) that import the package `name`. */
function filesImporting(dir: string, name: string): string[] {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  const pattern = new RegExp(`(?:from\\s+|import\\s*\\(\\s*)'${name}'`);
  return files.filter((file) => pattern.test(readFileSync(path.join(dir, file), 'utf8'))).map((file) => file.split(path.sep).join('/'));
}

/** Imports that point from a lower layer to a higher one. */
function upwardImports(edges: readonly Edge[]): string[] {
  return edges.filter((edge) => rankOf(unitOf(edge.from)) > rankOf(unitOf(edge.to))).map((edge) => `${edge.from} -> ${edge.to}`);
}

/** A circle in the graph of `nodes` (folder or file names), as the path round it; undefined when there is none. */
function findCircle(edges: ReadonlyArray<readonly [string, string]>): string[] | undefined {
  const next = new Map<string, Set<string>>();
  for (const [from, to] of edges) if (from !== to) (next.get(from) ?? next.set(from, new Set()).get(from)!).add(to);
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const to of next.get(node) ?? []) {
      const circle = visit(to);
      if (circle) return circle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...next.keys()].sort()) {
    const circle = visit(node);
    if (circle) return circle;
  }
  return undefined;
}

describe('the layers of src/', () => {
  const edges = importsOf(srcDir);

  it('reads the imports (the check below sees something)', () => {
    expect(edges.length).toBeGreaterThan(200);
    expect(edges).toContainEqual({ from: 'cli/commands/run.ts', to: 'app/run/run-job.ts' });
  });

  it('imports point inward: no layer imports a higher one', () => {
    expect(upwardImports(edges)).toEqual([]);
  });

  it('no two folders import each other, directly or round a circle', () => {
    const folderEdges = edges.map((edge) => [unitOf(edge.from), unitOf(edge.to)] as const);
    expect(findCircle(folderEdges)).toBeUndefined();
  });

  it('no module imports itself round a circle', () => {
    expect(findCircle(edges.map((edge) => [edge.from, edge.to] as const))).toBeUndefined();
  });

  it('no SQLite handle leaves store/: only store/ imports better-sqlite3 or reaches the connection under a JobReader', () => {
    expect(edges).toContainEqual({ from: 'store/job-reader.ts', to: 'store/connection-of.ts' });
    expect(edges.filter((edge) => edge.to === 'store/connection-of.ts' && unitOf(edge.from) !== 'store').map((edge) => edge.from)).toEqual([]);
    const sqliteUsers = filesImporting(srcDir, 'better-sqlite3');
    expect(sqliteUsers).toContain('store/open-database.ts');
    expect(sqliteUsers.filter((file) => unitOf(file) !== 'store')).toEqual([]);
  });
});

describe('the layer checks themselves', () => {
  it('flag an import from a lower layer to a higher one', () => {
    expect(upwardImports([{ from: 'scheduler/run.ts', to: 'app/run/run-job.ts' }, { from: 'app/run/run-job.ts', to: 'store/x.ts' }, { from: 'app/settings/x.ts', to: 'app/job/y.ts' }])).toEqual([
      'scheduler/run.ts -> app/run/run-job.ts',
      'app/settings/x.ts -> app/job/y.ts',
    ]);
  });

  it('find a circle through three folders, and none in a tree', () => {
    expect(findCircle([['scheduler', 'store'], ['store', 'prompts'], ['prompts', 'scheduler']])).toEqual(['prompts', 'scheduler', 'store', 'prompts']);
    expect(findCircle([['a', 'b'], ['a', 'c'], ['b', 'c']])).toBeUndefined();
  });

  it('refuse a folder that no layer names', () => {
    expect(() => rankOf('plugins')).toThrow(/in no layer/);
  });
});
