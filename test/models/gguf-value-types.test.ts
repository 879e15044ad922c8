import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readGgufInfo } from '../../src/models/gguf-reader.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'batch-gguf-types-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A hand-written GGUF encoder, independent of the project's writer, so that the reader is checked against the spec. */
class Encoder {
  parts: Buffer[] = [];
  raw(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.alloc(size);
    write(b);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    return this.raw(4, (b) => b.writeUInt32LE(v));
  }
  u64(v: number | bigint): this {
    return this.raw(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }
  str(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.parts.push(bytes);
    return this;
  }
  kv(key: string, type: number, write: (e: this) => void): this {
    this.str(key).u32(type);
    write(this);
    return this;
  }
  get length(): number {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }
}

it('parses every metadata value type, skips arrays, and sizes quantized tensors', async () => {
  const e = new Encoder();
  const kvs = 16;
  e.raw(4, (b) => b.write('GGUF', 'latin1')).u32(2).u64(2).u64(kvs);
  e.kv('general.architecture', 8, (x) => x.str('qwen2'));
  e.kv('t.u8', 0, (x) => x.raw(1, (b) => b.writeUInt8(200)));
  e.kv('t.i8', 1, (x) => x.raw(1, (b) => b.writeInt8(-5)));
  e.kv('t.u16', 2, (x) => x.raw(2, (b) => b.writeUInt16LE(60000)));
  e.kv('t.i16', 3, (x) => x.raw(2, (b) => b.writeInt16LE(-300)));
  e.kv('qwen2.context_length', 4, (x) => x.u32(32768));
  e.kv('t.i32', 5, (x) => x.raw(4, (b) => b.writeInt32LE(-70000)));
  e.kv('t.f32', 6, (x) => x.raw(4, (b) => b.writeFloatLE(0.5)));
  e.kv('t.bool', 7, (x) => x.raw(1, (b) => b.writeUInt8(1)));
  e.kv('t.u64', 10, (x) => x.u64(2n ** 60n));
  e.kv('t.i64', 11, (x) => x.raw(8, (b) => b.writeBigInt64LE(-42n)));
  e.kv('t.f64', 12, (x) => x.raw(8, (b) => b.writeDoubleLE(2.25)));
  e.kv('tokenizer.ggml.tokens', 9, (x) => {
    x.u32(8).u64(3).str('a').str('bb').str('ccc');
  });
  e.kv('t.u64s', 9, (x) => {
    x.u32(10).u64(4).u64(1).u64(2).u64(3).u64(4);
  });
  e.kv('t.nested', 9, (x) => {
    x.u32(9).u64(2).u32(5).u64(1).u32(0).u32(4).u64(2).u32(1).u32(2);
  });
  e.kv('t.after', 8, (x) => x.str('still aligned'));
  // Tensors: 256 Q4_K elements (one 144-byte block) and 10 F16 elements (20 bytes).
  e.str('q').u32(1).u64(256).u32(12).u64(0);
  e.str('h').u32(2).u64(5).u64(2).u32(1).u64(160);
  const padding = (32 - (e.length % 32)) % 32;
  e.raw(padding + 160 + 20, () => undefined);
  const path = join(dir, 'types.gguf');
  await writeFile(path, Buffer.concat(e.parts));

  const info = await readGgufInfo(path);
  expect(info.version).toBe(2);
  expect(info.architecture).toBe('qwen2');
  expect(info.contextLength).toBe(32768);
  expect(info.metadata).toEqual({
    'general.architecture': 'qwen2',
    't.u8': 200,
    't.i8': -5,
    't.u16': 60000,
    't.i16': -300,
    'qwen2.context_length': 32768,
    't.i32': -70000,
    't.f32': 0.5,
    't.bool': true,
    't.u64': (2n ** 60n).toString(),
    't.i64': -42,
    't.f64': 2.25,
    't.after': 'still aligned',
  });
  expect(info.arrayLengths).toEqual({ 'tokenizer.ggml.tokens': 3, 't.u64s': 4, 't.nested': 2 });
  expect(info.vocabSize).toBe(3);
  expect(info.tensorCount).toBe(2);
  expect(info.parameterCount).toBe(266);
  expect(info.weightBytes).toBe(144 + 20);
});
