import { open } from 'node:fs/promises';
import { checkInteger, checkWholeNumber, optionError } from '../util/check-option.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgmlTypeId, GgufValueType, alignOffset } from './gguf-format.js';
import { createSeededRandom } from './seeded-random.js';

/** Shape and content of a generated tiny Llama model. */
export interface TinyLlamaOptions {
  /** Width of the hidden state (E). Must be a multiple of `headCount`. @default 64 */
  readonly embeddingLength?: number;
  /** Number of transformer blocks. @default 2 */
  readonly blockCount?: number;
  /** Width of the feed-forward layer (FF). @default 128 */
  readonly feedForwardLength?: number;
  /** Attention heads. @default 4 */
  readonly headCount?: number;
  /** Key/value heads (grouped-query attention). Must divide `headCount`. @default headCount */
  readonly headCountKv?: number;
  /** Trained context length written to `llama.context_length`. @default 512 */
  readonly contextLength?: number;
  /** Seed of the deterministic generator for the weights: the same seed writes the same bytes. @default 1 */
  readonly seed?: number;
  /** `general.name`. @default 'tiny-llama' */
  readonly name?: string;
  /**
   * Metadata keys to leave out, to produce a malformed model on purpose (tests of validation).
   * @default []
   */
  readonly omitKeys?: readonly string[];
}

export interface TinyLlamaResult {
  readonly path: string;
  readonly bytes: number;
}

interface TensorSpec {
  readonly name: string;
  /** ggml order: fastest-varying dimension first. */
  readonly dims: readonly number[];
  /** 'ones' for norm weights, 'random' for everything else. */
  readonly fill: 'ones' | 'random';
}

type MetadataValue =
  | { readonly type: 'u32'; readonly value: number }
  | { readonly type: 'f32'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'string[]'; readonly value: readonly string[] }
  | { readonly type: 'i32[]'; readonly value: readonly number[] };

const TOKEN_TYPE_NORMAL = 1;
const TOKEN_TYPE_UNKNOWN = 2;
const TOKEN_TYPE_CONTROL = 3;
const TOKEN_TYPE_BYTE = 6;
const WORD_PIECES = ['▁the', '▁a', '▁and', '▁of', '▁to', '▁is', '▁in', '▁it', '▁hello', '▁world', '▁yes', '▁no'];
/** Random weights are drawn from [-WEIGHT_SCALE, WEIGHT_SCALE]. */
const WEIGHT_SCALE = 0.08;
/** Floats generated and written per write call: big enough to be fast, small enough for the ~100 MB bench model. */
const CHUNK_FLOATS = 1 << 16;

/**
 * Writes a tiny random-weight Llama GGUF (v3, F32 tensors) that llama.cpp loads and runs. The output
 * is random text; the point is real load times, real token throughput and real slot behaviour
 * without downloading a model. Tensor data is streamed, so large shapes never build one buffer.
 */
export async function writeTinyLlamaGguf(path: string, options: TinyLlamaOptions = {}): Promise<TinyLlamaResult> {
  const shape = resolveShape(options);
  const vocab = buildVocab();
  const omit = new Set(options.omitKeys ?? []);
  const metadata = buildMetadata(shape, vocab, options.name ?? 'tiny-llama').filter(([key]) => !omit.has(key));
  const tensors = buildTensorSpecs(shape, vocab.tokens.length);

  const header = encodeHeader(metadata, tensors);
  const dataStart = alignOffset(header.length, GGUF_DEFAULT_ALIGNMENT);
  const file = await open(path, 'w');
  let bytes = 0;
  try {
    await file.write(header);
    await file.write(Buffer.alloc(dataStart - header.length));
    bytes = dataStart;
    const random = createSeededRandom(shape.seed);
    const chunk = Buffer.alloc(CHUNK_FLOATS * 4);
    for (const tensor of tensors) {
      const count = tensorElements(tensor);
      for (let done = 0; done < count; done += CHUNK_FLOATS) {
        const n = Math.min(CHUNK_FLOATS, count - done);
        for (let i = 0; i < n; i++) {
          chunk.writeFloatLE(tensor.fill === 'ones' ? 1 : (random() * 2 - 1) * WEIGHT_SCALE, i * 4);
        }
        await file.write(chunk, 0, n * 4);
      }
      const size = count * 4;
      const padding = alignOffset(size, GGUF_DEFAULT_ALIGNMENT) - size;
      if (padding > 0) await file.write(Buffer.alloc(padding));
      bytes += size + padding;
    }
  } finally {
    await file.close();
  }
  return { path, bytes };
}

interface Shape {
  readonly embeddingLength: number;
  readonly blockCount: number;
  readonly feedForwardLength: number;
  readonly headCount: number;
  readonly headCountKv: number;
  readonly contextLength: number;
  readonly seed: number;
}

function resolveShape(options: TinyLlamaOptions): Shape {
  const shape: Shape = {
    embeddingLength: checkWholeNumber('embeddingLength', options.embeddingLength ?? 64, 1),
    blockCount: checkWholeNumber('blockCount', options.blockCount ?? 2, 1),
    feedForwardLength: checkWholeNumber('feedForwardLength', options.feedForwardLength ?? 128, 1),
    headCount: checkWholeNumber('headCount', options.headCount ?? 4, 1),
    headCountKv: checkWholeNumber('headCountKv', options.headCountKv ?? options.headCount ?? 4, 1),
    contextLength: checkWholeNumber('contextLength', options.contextLength ?? 512, 1),
    seed: checkInteger('seed', options.seed ?? 1),
  };
  if (shape.embeddingLength % shape.headCount !== 0) {
    throw optionError('embeddingLength', `a multiple of \`headCount\` (${shape.headCount})`, shape.embeddingLength);
  }
  if (shape.headCount % shape.headCountKv !== 0) {
    throw optionError('headCountKv', `a divisor of \`headCount\` (${shape.headCount})`, shape.headCountKv);
  }
  return shape;
}


/**
 * Whether a byte token may be rendered: printable ASCII, tab and newline. Random weights pick byte
 * tokens at random, and a lone byte of a multi-byte UTF-8 sequence is invalid text: llama-server
 * answers such output with HTTP 500 ("does not match the expected … format"). The other bytes are
 * control tokens (type 3), which the tokenizer still uses for input but never renders.
 */
function isRenderedByte(byte: number): boolean {
  return (byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a;
}

function buildVocab(): { tokens: string[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [TOKEN_TYPE_UNKNOWN, TOKEN_TYPE_CONTROL, TOKEN_TYPE_CONTROL];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(isRenderedByte(byte) ? TOKEN_TYPE_BYTE : TOKEN_TYPE_CONTROL);
  }
  for (const piece of WORD_PIECES) {
    tokens.push(piece);
    types.push(TOKEN_TYPE_NORMAL);
  }
  return { tokens, types };
}

function buildMetadata(shape: Shape, vocab: { tokens: string[]; types: number[] }, name: string): Array<[string, MetadataValue]> {
  return [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: name }],
    ['llama.context_length', { type: 'u32', value: shape.contextLength }],
    ['llama.embedding_length', { type: 'u32', value: shape.embeddingLength }],
    ['llama.block_count', { type: 'u32', value: shape.blockCount }],
    ['llama.feed_forward_length', { type: 'u32', value: shape.feedForwardLength }],
    ['llama.attention.head_count', { type: 'u32', value: shape.headCount }],
    ['llama.attention.head_count_kv', { type: 'u32', value: shape.headCountKv }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: vocab.tokens }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: vocab.types }],
  ];
}

function buildTensorSpecs(shape: Shape, vocabSize: number): TensorSpec[] {
  const E = shape.embeddingLength;
  const headDim = E / shape.headCount;
  const qWidth = shape.headCount * headDim;
  const kvWidth = shape.headCountKv * headDim;
  const specs: TensorSpec[] = [{ name: 'token_embd.weight', dims: [E, vocabSize], fill: 'random' }];
  for (let block = 0; block < shape.blockCount; block++) {
    const p = `blk.${block}.`;
    specs.push(
      { name: `${p}attn_norm.weight`, dims: [E], fill: 'ones' },
      { name: `${p}attn_q.weight`, dims: [E, qWidth], fill: 'random' },
      { name: `${p}attn_k.weight`, dims: [E, kvWidth], fill: 'random' },
      { name: `${p}attn_v.weight`, dims: [E, kvWidth], fill: 'random' },
      { name: `${p}attn_output.weight`, dims: [qWidth, E], fill: 'random' },
      { name: `${p}ffn_norm.weight`, dims: [E], fill: 'ones' },
      { name: `${p}ffn_gate.weight`, dims: [E, shape.feedForwardLength], fill: 'random' },
      { name: `${p}ffn_up.weight`, dims: [E, shape.feedForwardLength], fill: 'random' },
      { name: `${p}ffn_down.weight`, dims: [shape.feedForwardLength, E], fill: 'random' },
    );
  }
  specs.push({ name: 'output_norm.weight', dims: [E], fill: 'ones' }, { name: 'output.weight', dims: [E, vocabSize], fill: 'random' });
  return specs;
}

function tensorElements(tensor: TensorSpec): number {
  return tensor.dims.reduce((product, dim) => product * dim, 1);
}

/** Serialises everything before the tensor data: header, metadata and tensor infos. */
function encodeHeader(metadata: ReadonlyArray<[string, MetadataValue]>, tensors: readonly TensorSpec[]): Buffer {
  const out = new ByteSink();
  out.u32(GGUF_MAGIC);
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    switch (value.type) {
      case 'u32':
        out.u32(GgufValueType.Uint32);
        out.u32(value.value);
        break;
      case 'f32':
        out.u32(GgufValueType.Float32);
        out.f32(value.value);
        break;
      case 'string':
        out.u32(GgufValueType.String);
        out.string(value.value);
        break;
      case 'string[]':
        out.u32(GgufValueType.Array);
        out.u32(GgufValueType.String);
        out.u64(value.value.length);
        for (const item of value.value) out.string(item);
        break;
      case 'i32[]':
        out.u32(GgufValueType.Array);
        out.u32(GgufValueType.Int32);
        out.u64(value.value.length);
        for (const item of value.value) out.i32(item);
        break;
    }
  }
  let offset = 0;
  for (const tensor of tensors) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(GgmlTypeId.F32);
    out.u64(offset);
    offset = alignOffset(offset + tensorElements(tensor) * 4, GGUF_DEFAULT_ALIGNMENT);
  }
  return out.toBuffer();
}

/** A growable little-endian byte buffer for the (small) header. */
class ByteSink {
  #parts: Buffer[] = [];

  u32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    this.#parts.push(b);
  }

  i32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    this.#parts.push(b);
  }

  u64(value: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value));
    this.#parts.push(b);
  }

  f32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.#parts.push(b);
  }

  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.#parts.push(bytes);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#parts);
  }
}
