import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so that two bodies that differ only in key order
 * hash the same. `undefined` members are dropped, as JSON.stringify does. Every prompt's request
 * goes through it while a run reads its inputs, so it concatenates into one string and sorts keys
 * in place: the map/filter/join form allocated ~6 KB per prompt (issue 23's profile).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      out += `${i === 0 ? '' : ','}${element === undefined ? 'null' : canonicalJson(element)}`;
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = sortedKeys(record);
  let out = '{';
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

/**
 * The object's own keys in code-unit order, as `Array.prototype.sort` orders strings. A request's
 * objects have a handful of keys: an insertion sort of those allocates nothing beyond the keys.
 */
function sortedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
  return keys;
}

/** sha256 (hex) of the canonical JSON of `{endpoint, body}`: equal requests, equal hashes. */
export function requestHash(endpoint: string, body: Readonly<Record<string, unknown>>): string {
  // canonicalJson({ endpoint, body }) spelt out: "body" sorts before "endpoint".
  return createHash('sha256').update(`{"body":${canonicalJson(body)},"endpoint":${JSON.stringify(endpoint)}}`).digest('hex');
}

/**
 * Whether sending the request twice should give the same answer: greedy sampling
 * (`temperature: 0`) or a fixed numeric `seed`. Only such items are deduplicated or served from
 * the cache; sampling at a temperature is what the user asked for, so repeats stay repeats.
 */
export function isDeterministic(body: Readonly<Record<string, unknown>>): boolean {
  return body.temperature === 0 || (typeof body.seed === 'number' && Number.isFinite(body.seed));
}
