import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so that two bodies that differ only in key order
 * hash the same. `undefined` members are dropped, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    return `[${value.map((element) => (element === undefined ? 'null' : canonicalJson(element))).join(',')}]`;
  }
  const entries = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

/** sha256 (hex) of the canonical JSON of `{endpoint, body}`: equal requests, equal hashes. */
export function requestHash(endpoint: string, body: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(canonicalJson({ endpoint, body })).digest('hex');
}

/**
 * Whether sending the request twice should give the same answer: greedy sampling
 * (`temperature: 0`) or a fixed numeric `seed`. Only such items are deduplicated or served from
 * the cache; sampling at a temperature is what the user asked for, so repeats stay repeats.
 */
export function isDeterministic(body: Readonly<Record<string, unknown>>): boolean {
  return body.temperature === 0 || (typeof body.seed === 'number' && Number.isFinite(body.seed));
}
