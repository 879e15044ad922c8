import type { FileHandle } from 'node:fs/promises';

/** Thrown when the file ends before a value it declares; the GGUF reader turns it into MODEL_INVALID. */
export class TruncatedGgufError extends Error {
  constructor(readonly offset: number, readonly wanted: number) {
    super(`file ends at byte ${offset} while reading ${wanted} more bytes`);
    this.name = 'TruncatedGgufError';
  }
}

/** Refuse strings longer than this: a larger length means a corrupt file, not a real key or token. */
const MAX_STRING_BYTES = 16 * 1024 * 1024;
const WINDOW_BYTES = 1024 * 1024;

/**
 * A forward-only little-endian reader over a file, keeping a 1 MiB window in memory, so that
 * metadata with hundreds of thousands of tokens is walked without loading it whole.
 */
export class GgufByteReader {
  readonly #file: FileHandle;
  readonly #fileBytes: number;
  #window = Buffer.alloc(0);
  /** File offset of `#window[0]`. */
  #windowStart = 0;
  /** File offset of the next byte to read. */
  #position = 0;

  constructor(file: FileHandle, fileBytes: number) {
    this.#file = file;
    this.#fileBytes = fileBytes;
  }

  get position(): number {
    return this.#position;
  }

  async u8(): Promise<number> {
    return (await this.#take(1)).readUInt8(0);
  }

  async u32(): Promise<number> {
    return (await this.#take(4)).readUInt32LE(0);
  }

  /** Reads a u64 as a number; GGUF counts and sizes stay far below 2^53 in any real file. */
  async u64(): Promise<number> {
    const value = (await this.#take(8)).readBigUInt64LE(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`64-bit value ${value} at byte ${this.#position - 8} is too large`);
    return Number(value);
  }

  /** Reads a scalar of GGUF value type `type` (not string/array). */
  async scalar(type: number): Promise<number | bigint | boolean> {
    switch (type) {
      case 0: return (await this.#take(1)).readUInt8(0);
      case 1: return (await this.#take(1)).readInt8(0);
      case 2: return (await this.#take(2)).readUInt16LE(0);
      case 3: return (await this.#take(2)).readInt16LE(0);
      case 4: return (await this.#take(4)).readUInt32LE(0);
      case 5: return (await this.#take(4)).readInt32LE(0);
      case 6: return (await this.#take(4)).readFloatLE(0);
      case 7: return (await this.#take(1)).readUInt8(0) !== 0;
      case 10: return narrow((await this.#take(8)).readBigUInt64LE(0));
      case 11: return narrow((await this.#take(8)).readBigInt64LE(0));
      case 12: return (await this.#take(8)).readDoubleLE(0);
      default: throw new RangeError(`unknown value type ${type} at byte ${this.#position}`);
    }
  }

  async string(): Promise<string> {
    const length = await this.u64();
    if (length > MAX_STRING_BYTES) throw new RangeError(`string of ${length} bytes at byte ${this.#position - 8}`);
    return (await this.#take(length)).toString('utf8');
  }

  /** Moves past `bytes` bytes without keeping them. */
  async skip(bytes: number): Promise<void> {
    if (this.#position + bytes > this.#fileBytes) throw new TruncatedGgufError(this.#fileBytes, this.#position + bytes - this.#fileBytes);
    this.#position += bytes;
  }

  async skipString(): Promise<void> {
    const length = await this.u64();
    await this.skip(length);
  }

  async #take(bytes: number): Promise<Buffer> {
    const end = this.#position + bytes;
    if (end > this.#fileBytes) throw new TruncatedGgufError(this.#fileBytes, end - this.#fileBytes);
    const windowEnd = this.#windowStart + this.#window.length;
    if (this.#position < this.#windowStart || end > windowEnd) {
      const size = Math.min(Math.max(bytes, WINDOW_BYTES), this.#fileBytes - this.#position);
      const buffer = Buffer.alloc(size);
      const { bytesRead } = await this.#file.read(buffer, 0, size, this.#position);
      if (bytesRead < bytes) throw new TruncatedGgufError(this.#position + bytesRead, bytes - bytesRead);
      this.#window = buffer.subarray(0, bytesRead);
      this.#windowStart = this.#position;
    }
    const start = this.#position - this.#windowStart;
    this.#position = end;
    return this.#window.subarray(start, start + bytes);
  }
}

function narrow(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
