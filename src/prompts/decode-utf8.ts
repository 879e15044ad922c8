/** The result of decoding bytes that must be UTF-8 text. */
export type DecodeUtf8Result =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly offset: number; readonly byte: number };

// fatal: true makes invalid bytes an error instead of U+FFFD, so a broken line is reported rather
// than silently sent to the model with replacement characters in it.
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes UTF-8 strictly; on failure says where the first invalid byte is. A leading BOM is dropped. */
export function decodeUtf8(bytes: Uint8Array): DecodeUtf8Result {
  try {
    return { ok: true, text: decoder.decode(bytes) };
  } catch {
    const offset = findInvalidUtf8(bytes);
    // The validator and TextDecoder follow the same WHATWG rules; the fallback only guards that.
    const at = offset === -1 ? 0 : offset;
    return { ok: false, offset: at, byte: bytes[at] ?? 0 };
  }
}

/** Text files never contain NUL; binary formats (images, PDFs, archives, UTF-16) nearly always do. */
export function isBinary(bytes: Uint8Array): boolean {
  return bytes.includes(0);
}

/** "expected UTF-8 text, got invalid byte 0xff at byte 12; …": `position` is 1-based within the line. */
export function describeInvalidUtf8(byte: number, position: number): string {
  const hex = byte.toString(16).padStart(2, '0');
  return `expected UTF-8 text, got invalid byte 0x${hex} at byte ${position}; re-save the file as UTF-8`;
}

/** Byte offset of the first byte that starts an invalid UTF-8 sequence, or -1 when all is valid. */
export function findInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0; // overlong
      if (b === 0xed) high = 0x9f; // UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90; // overlong
      if (b === 0xf4) high = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k < length; k += 1) {
      const c = bytes[i + k];
      const min = k === 1 ? low : 0x80;
      const max = k === 1 ? high : 0xbf;
      if (c === undefined || c < min || c > max) return i;
    }
    i += length;
  }
  return -1;
}
