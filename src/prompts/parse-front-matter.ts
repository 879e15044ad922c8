import { describeValue } from '../util/describe-value.js';
import { checkParam, FRONT_MATTER_KEYS } from './check-request-fields.js';
import { checkPriority } from './prompt-priority.js';
import { loadYaml } from './load-yaml.js';

export { FRONT_MATTER_KEYS };

/** A prompt file split into its settings and its text. */
export type FrontMatterResult =
  | {
      readonly ok: true;
      /** Checked request values, in the order written. Empty when the file has no front matter. */
      readonly fields: Readonly<Record<string, unknown>>;
      /** `priority:`, which orders the sending and is not part of the request. */
      readonly priority?: number;
      /** 1-based line of the file each key is on, for messages about its value found later. */
      readonly keyLines: Readonly<Record<string, number>>;
      /** The text after the closing `---` (the whole text without front matter). */
      readonly body: string;
      /** 1-based line of the file the body starts on. */
      readonly bodyLine: number;
    }
  | {
      readonly ok: false;
      /** 1-based line of the file the problem is on. */
      readonly line: number;
      /** "expected …, got …" */
      readonly detail: string;
    };

const DELIMITER = /^---[ \t]*$/;

/**
 * Parses the YAML front matter between `---` lines at the top of a prompt file (YAML 1.2, read by
 * the `yaml` library: block scalars, flow and block lists, comments, quoting). Its keys are
 * `model`, `system`, `json_schema` and the request parameters `batch` knows (see
 * FRONT_MATTER_KEYS), each type-checked, so that a typo is an error on its line instead of a
 * silently different request.
 */
export function parseFrontMatter(text: string): FrontMatterResult {
  const lines = text.split(/\r?\n/);
  if (lines.length < 2 || !DELIMITER.test(lines[0]!)) return { ok: true, fields: {}, keyLines: {}, body: text, bodyLine: 1 };
  const end = lines.findIndex((line, i) => i > 0 && DELIMITER.test(line));
  if (end === -1) {
    return { ok: false, line: 1, detail: 'expected a closing `---` line to end the front matter, got the end of the file' };
  }
  // The YAML starts on line 2 of the file.
  const fileLine = (yamlLine: number): number => yamlLine + 1;
  const { isMap, isScalar, LineCounter, parseDocument } = loadYaml();
  const counter = new LineCounter();
  const document = parseDocument(lines.slice(1, end).join('\n'), { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  const error = document.errors[0];
  if (error !== undefined) {
    const line = fileLine(counter.linePos(error.pos[0]).line);
    const reason = error.message.replace(/ at line \d+, column \d+[\s\S]*$/, '');
    return { ok: false, line, detail: `expected YAML \`key: value\` lines, got ${reason}; put a value that holds \`: \` or starts with [ { & * ! | > ' " % @ in quotes` };
  }
  const body = { body: lines.slice(end + 1).join('\n'), bodyLine: end + 2 };
  if (document.contents === null) return { ok: true, fields: {}, keyLines: {}, ...body };
  if (!isMap(document.contents)) {
    const line = fileLine(counter.linePos(document.contents.range?.[0] ?? 0).line);
    return { ok: false, line, detail: `expected \`key: value\` lines, got ${describeValue(document.contents.toJSON())}` };
  }

  const fields: Record<string, unknown> = {};
  let priority: number | undefined;
  const keyLines: Record<string, number> = {};
  for (const pair of document.contents.items) {
    const keyNode = pair.key;
    const line = fileLine(counter.linePos(isScalar(keyNode) ? (keyNode.range?.[0] ?? 0) : 0).line);
    const key = isScalar(keyNode) ? keyNode.value : undefined;
    if (typeof key !== 'string' || !(FRONT_MATTER_KEYS as readonly string[]).includes(key)) {
      const seen = isScalar(keyNode) ? `\`${String(key)}\`` : describeValue((keyNode as { toJSON?: () => unknown } | null)?.toJSON?.());
      return { ok: false, line, detail: `expected one of the keys ${FRONT_MATTER_KEYS.join(', ')}, got ${seen}` };
    }
    const value: unknown = pair.value === null ? null : (pair.value as { toJSON: () => unknown }).toJSON();
    const problem = key === 'priority' ? checkPriority(value) : checkParam(key, value);
    if (problem !== undefined) return { ok: false, line, detail: problem };
    if (key === 'priority') priority = value as number;
    else fields[key] = value;
    keyLines[key] = line;
  }
  if (fields.json_schema !== undefined && fields.response_format !== undefined) {
    return { ok: false, line: keyLines.json_schema!, detail: `expected \`json_schema\` or \`response_format\`, got both (\`response_format\` on line ${keyLines.response_format}): keep one` };
  }
  return { ok: true, fields, keyLines, ...body, ...(priority === undefined ? {} : { priority }) };
}
