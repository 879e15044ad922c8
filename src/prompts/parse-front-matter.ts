import { checkParam } from './check-request-fields.js';

/** The keys a prompt file's front matter may set. */
export const FRONT_MATTER_KEYS = ['model', 'system', 'temperature', 'max_tokens', 'seed', 'stop'] as const;
export type FrontMatterKey = (typeof FRONT_MATTER_KEYS)[number];

/** A prompt file split into its settings and its text. */
export type FrontMatterResult =
  | {
      readonly ok: true;
      /** Checked values, in the order written. Empty when the file has no front matter. */
      readonly fields: Readonly<Partial<Record<FrontMatterKey, unknown>>>;
      /** The text after the closing `---` (the whole text without front matter). */
      readonly body: string;
    }
  | {
      readonly ok: false;
      /** 1-based line of the file the problem is on. */
      readonly line: number;
      /** "expected …, got …" */
      readonly detail: string;
    };

type Fail = { readonly ok: false; readonly line: number; readonly detail: string };

const DELIMITER = /^---[ \t]*$/;
const KEY_LINE = /^([A-Za-z_][A-Za-z0-9_]*)[ \t]*:(?:[ \t]+(.*))?$/;
const LIST_ITEM = /^[ \t]+-(?:[ \t]+(.*))?$/;
const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Parses the front matter between `---` lines at the top of a prompt file. It understands exactly
 * the subset of YAML that the six keys need (plain, quoted and list values), so that a typo is an
 * error on its line instead of a silently different request.
 */
export function parseFrontMatter(text: string): FrontMatterResult {
  const lines = text.split(/\r?\n/);
  if (lines.length < 2 || !DELIMITER.test(lines[0]!)) return { ok: true, fields: {}, body: text };
  const end = lines.findIndex((line, i) => i > 0 && DELIMITER.test(line));
  if (end === -1) {
    return { ok: false, line: 1, detail: 'expected a closing `---` line to end the front matter, got the end of the file' };
  }

  const fields: Partial<Record<FrontMatterKey, unknown>> = {};
  const keyLines = new Map<FrontMatterKey, number>();
  let listKey: FrontMatterKey | undefined;
  for (let i = 1; i < end; i += 1) {
    const lineNumber = i + 1;
    const line = lines[i]!;
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;

    const item = LIST_ITEM.exec(line);
    if (item !== null) {
      if (listKey === undefined) return fail(lineNumber, `expected \`key: value\`, got a list item outside a list: ${JSON.stringify(line)}`);
      const value = parseScalar(item[1] ?? '', lineNumber);
      if (isFail(value)) return value;
      (fields[listKey] as unknown[]).push(value.value);
      continue;
    }
    const match = KEY_LINE.exec(line);
    if (match === null) return fail(lineNumber, `expected \`key: value\`, got ${JSON.stringify(line)}`);
    const key = match[1]!;
    if (!isFrontMatterKey(key)) {
      return fail(lineNumber, `expected one of the keys ${FRONT_MATTER_KEYS.join(', ')}, got \`${key}\``);
    }
    const first = keyLines.get(key);
    if (first !== undefined) return fail(lineNumber, `expected \`${key}\` once, got it again (first on line ${first})`);
    keyLines.set(key, lineNumber);

    const raw = (match[2] ?? '').trim();
    if (raw === '' || raw.startsWith('#')) {
      // A bare `key:` opens a block list (`  - item` lines follow); a key left empty stays null.
      fields[key] = [];
      listKey = key;
      continue;
    }
    listKey = undefined;
    const value = raw.startsWith('[') ? parseInlineList(raw, lineNumber) : parseScalar(raw, lineNumber);
    if (isFail(value)) return value;
    fields[key] = value.value;
  }

  for (const [key, line] of keyLines) {
    const value = fields[key];
    if (Array.isArray(value) && value.length === 0 && key !== 'stop') fields[key] = null;
    else if (Array.isArray(value) && value.length === 0) return fail(line, 'expected `stop` to be a string or a list of strings, got nothing');
    const problem = checkParam(key, fields[key]);
    if (problem !== undefined) return fail(line, problem);
  }
  return { ok: true, fields, body: lines.slice(end + 1).join('\n') };
}

function isFrontMatterKey(key: string): key is FrontMatterKey {
  return (FRONT_MATTER_KEYS as readonly string[]).includes(key);
}

function fail(line: number, detail: string): Fail {
  return { ok: false, line, detail };
}

function isFail(value: Fail | { readonly value: unknown }): value is Fail {
  return 'ok' in value;
}

/** One scalar: quoted, or plain with an optional ` # comment`. */
function parseScalar(raw: string, line: number): Fail | { readonly value: unknown } {
  const text = raw.trim();
  if (text.startsWith('"') || text.startsWith("'")) {
    const quoted = readQuoted(text, 0, line);
    if (isFail(quoted)) return quoted;
    const rest = text.slice(quoted.end).trim();
    if (rest !== '' && !rest.startsWith('#')) return fail(line, `expected nothing after the closing quote, got ${JSON.stringify(rest)}`);
    return { value: quoted.value };
  }
  return { value: plainValue(text.replace(/[ \t]+#.*$/, '')) };
}

/** `[a, "b, c", 3]` */
function parseInlineList(raw: string, line: number): Fail | { readonly value: unknown } {
  const items: unknown[] = [];
  let i = 1;
  const skipSpace = (): void => {
    while (raw[i] === ' ' || raw[i] === '\t') i += 1;
  };
  skipSpace();
  if (raw[i] === ']') return finishList(raw, i + 1, items, line);
  for (;;) {
    skipSpace();
    if (raw[i] === '"' || raw[i] === "'") {
      const quoted = readQuoted(raw, i, line);
      if (isFail(quoted)) return quoted;
      items.push(quoted.value);
      i = quoted.end;
      skipSpace();
    } else {
      const start = i;
      while (i < raw.length && raw[i] !== ',' && raw[i] !== ']') i += 1;
      items.push(plainValue(raw.slice(start, i).trim()));
    }
    if (raw[i] === ',') {
      i += 1;
      continue;
    }
    if (raw[i] === ']') return finishList(raw, i + 1, items, line);
    return fail(line, `expected \`,\` or \`]\` in the list, got ${i < raw.length ? JSON.stringify(raw.slice(i)) : 'the end of the line'}`);
  }
}

function finishList(raw: string, end: number, items: unknown[], line: number): Fail | { readonly value: unknown } {
  const rest = raw.slice(end).trim();
  if (rest !== '' && !rest.startsWith('#')) return fail(line, `expected nothing after \`]\`, got ${JSON.stringify(rest)}`);
  return { value: items };
}

/** A quoted string starting at `start`: YAML double quotes use JSON's escapes; single quotes double `''`. */
function readQuoted(text: string, start: number, line: number): Fail | { readonly value: string; readonly end: number } {
  const quote = text[start]!;
  let i = start + 1;
  while (i < text.length) {
    if (quote === '"' && text[i] === '\\') {
      i += 2;
      continue;
    }
    if (text[i] === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        i += 2;
        continue;
      }
      break;
    }
    i += 1;
  }
  if (i >= text.length) return fail(line, `expected a closing ${quote} quote, got the end of the line`);
  const inner = text.slice(start + 1, i);
  if (quote === "'") return { value: inner.replaceAll("''", "'"), end: i + 1 };
  try {
    return { value: JSON.parse(`"${inner}"`) as string, end: i + 1 };
  } catch {
    return fail(line, `expected a double-quoted string with valid escapes (\\n, \\t, \\", \\\\, \\uXXXX), got ${text.slice(start, i + 1)}`);
  }
}

function plainValue(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null' || text === '~' || text === '') return null;
  if (NUMBER.test(text)) return Number(text);
  return text;
}
