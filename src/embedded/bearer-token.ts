import { timingSafeEqual } from 'node:crypto';

/**
 * Whether an `Authorization` header carries the bearer token `key`. The scheme is matched without
 * regard to case (RFC 7235 §2.1: `bearer`, `Bearer` and `BEARER` are one scheme) and may be followed
 * by more than one space; the token itself is compared exactly, in constant time.
 */
export function bearerTokenMatches(header: string | undefined, key: string): boolean {
  const match = /^bearer +(\S+)$/i.exec((header ?? '').trim());
  const given = Buffer.from(match?.[1] ?? '');
  const wanted = Buffer.from(key);
  return match !== null && given.length === wanted.length && timingSafeEqual(given, wanted);
}
