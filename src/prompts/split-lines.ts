/** One line of a byte stream, without its `\n` or `\r\n`. */
export interface ByteLine {
  /** 1-based. */
  readonly lineNumber: number;
  readonly bytes: Uint8Array;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines lazily: only the current chunk and the unfinished line are held,
 * so a file of any size is read in constant memory (bar one very long line). Decoding is left to
 * the caller so that invalid UTF-8 is reported per line instead of being replaced silently, which
 * is what readline would do.
 */
export async function* splitLines(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<ByteLine> {
  let pending: Uint8Array[] = [];
  let lineNumber = 0;
  for await (const chunk of chunks) {
    // A stream with setEncoding() yields strings; they were decoded already, so re-encode them.
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : toBuffer(chunk);
    let start = 0;
    let newline = bytes.indexOf(LF, start);
    while (newline !== -1) {
      const tail = bytes.subarray(start, newline);
      const line = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
      pending = [];
      lineNumber += 1;
      yield { lineNumber, bytes: stripCarriageReturn(line) };
      start = newline + 1;
      newline = bytes.indexOf(LF, start);
    }
    if (start < bytes.length) pending.push(bytes.subarray(start));
  }
  if (pending.length > 0) {
    lineNumber += 1;
    yield { lineNumber, bytes: stripCarriageReturn(Buffer.concat(pending)) };
  }
}

function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function stripCarriageReturn(line: Uint8Array): Uint8Array {
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}
