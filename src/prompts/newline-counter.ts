const LF = 0x0a;
const CR = 0x0d;

/**
 * Counts `\n` bytes of a stream as it passes, up to byte offsets given in increasing order, holding
 * only the chunks not yet counted past. A CSV record's line is found from the parser's byte offset:
 * the parser's own line count is thrown off by CRLF inside quoted fields after a blank line.
 */
export class NewlineCounter {
  #chunks: Buffer[] = [];
  #offset = 0;
  #newlines = 0;
  #lastByte: number | undefined;

  /** Adds the next chunk of the stream. */
  push(chunk: Buffer): void {
    if (chunk.length > 0) this.#chunks.push(chunk);
  }

  /** Newlines in bytes [0, end), and the byte just before `end`. `end` never decreases. */
  advance(end: number): { readonly newlines: number; readonly lastByte: number | undefined } {
    while (this.#offset < end && this.#chunks.length > 0) {
      const chunk = this.#chunks[0]!;
      const take = Math.min(chunk.length, end - this.#offset);
      let at = chunk.indexOf(LF);
      while (at !== -1 && at < take) {
        this.#newlines += 1;
        at = chunk.indexOf(LF, at + 1);
      }
      this.#lastByte = chunk[take - 1];
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
      this.#offset += take;
    }
    return { newlines: this.#newlines, lastByte: this.#lastByte };
  }

  /**
   * The 1-based line of the first byte at or after `end` that starts a line with text: where the
   * next record starts, blank lines skipped. `end` never decreases (it counts up to it).
   */
  lineAfter(end: number): number {
    let { newlines } = this.advance(end);
    for (const chunk of this.#chunks) {
      for (const byte of chunk) {
        if (byte === LF) newlines += 1;
        else if (byte !== CR) return 1 + newlines;
      }
    }
    return 1 + newlines;
  }
}
