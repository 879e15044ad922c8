import { open, type FileHandle } from 'node:fs/promises';
import { ServerError } from '../errors.js';
import { GgufByteReader, TruncatedGgufError } from './gguf-byte-reader.js';
import {
  GGML_TYPE_SIZES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_SIZES,
  GgufValueType,
  SUPPORTED_GGUF_VERSIONS,
  alignOffset,
} from './gguf-format.js';

/** A metadata value kept in `GgufInfo.metadata`. 64-bit integers beyond 2^53 are kept as decimal strings. */
export type GgufScalar = string | number | boolean;

/** What a GGUF file says about itself, read from its header without touching tensor data. */
export interface GgufInfo {
  readonly path: string;
  readonly fileBytes: number;
  readonly version: number;
  /** `general.architecture`, e.g. 'llama', 'qwen2'; 'unknown' when absent. */
  readonly architecture: string;
  readonly name?: string;
  readonly contextLength?: number;
  readonly embeddingLength?: number;
  readonly blockCount?: number;
  readonly feedForwardLength?: number;
  readonly headCount?: number;
  /** Key/value heads; equals `headCount` when the model has no grouped-query attention key. */
  readonly headCountKv?: number;
  /** `attention.key_length`, else embeddingLength / headCount. */
  readonly headDim?: number;
  /** Entries in `tokenizer.ggml.tokens`, else `<arch>.vocab_size`. */
  readonly vocabSize?: number;
  /** Sum of the element counts of all tensors. */
  readonly parameterCount: number;
  readonly tensorCount: number;
  /** Bytes of tensor data (from ggml type sizes; the data section size when a type is unknown). */
  readonly weightBytes: number;
  /** f16 KV cache bytes per token of context: 2 (K and V) * blocks * kv heads * head dim * 2 bytes. */
  readonly kvBytesPerToken?: number;
  /** Scalar metadata values by key; arrays are left out (see `arrayLengths`). */
  readonly metadata: Readonly<Record<string, GgufScalar>>;
  /** Element counts of array metadata values (e.g. `tokenizer.ggml.tokens`), which are never kept. */
  readonly arrayLengths: Readonly<Record<string, number>>;
}

/** Human-readable fix appended to every invalid-file message. */
const INVALID_FIX = 'expected a GGUF v2/v3 file (re-download or re-convert it)';

/**
 * Reads the header, metadata and tensor infos of a GGUF file. Rejects with ServerError
 * MODEL_FILE_NOT_FOUND when the file does not exist and MODEL_INVALID when it cannot be opened or is not a readable
 * GGUF v2/v3 file.
 */
export async function readGgufInfo(path: string): Promise<GgufInfo> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    const reason = missing ? 'no such file' : (error as Error).message;
    // A file that is not there is the user's path; one that cannot be opened is the machine's (permissions, I/O).
    throw new ServerError(missing ? 'MODEL_FILE_NOT_FOUND' : 'MODEL_INVALID', `model ${path} cannot be opened: ${reason}; pass the path of an existing, readable .gguf file`, error);
  }
  try {
    const { size } = await file.stat();
    return await parse(path, new GgufByteReader(file, size), size);
  } catch (error) {
    if (error instanceof ServerError) throw error;
    const what = error instanceof TruncatedGgufError ? `truncated (${error.message})` : (error as Error).message;
    throw invalid(path, what, error);
  } finally {
    await file.close();
  }
}

function invalid(path: string, what: string, cause?: unknown): ServerError {
  return new ServerError('MODEL_INVALID', `model ${path} is invalid: ${what}; ${INVALID_FIX}`, cause);
}

async function parse(path: string, reader: GgufByteReader, fileBytes: number): Promise<GgufInfo> {
  if (fileBytes < 4) throw invalid(path, `file is ${fileBytes} bytes long, too short for a GGUF header`);
  const magic = await reader.u32();
  if (magic !== GGUF_MAGIC) {
    const seen = Buffer.alloc(4);
    seen.writeUInt32LE(magic);
    throw invalid(path, `bad magic ${JSON.stringify(seen.toString('latin1'))} (not a GGUF file)`);
  }
  const version = await reader.u32();
  if (!SUPPORTED_GGUF_VERSIONS.includes(version)) throw invalid(path, `unsupported GGUF version ${version}`);
  const tensorCount = await reader.u64();
  const kvCount = await reader.u64();

  const metadata: Record<string, GgufScalar> = {};
  const arrayLengths: Record<string, number> = {};
  for (let i = 0; i < kvCount; i++) {
    const key = await reader.string();
    const type = await reader.u32();
    if (type === GgufValueType.Array) {
      arrayLengths[key] = await skipArray(reader);
    } else if (type === GgufValueType.String) {
      metadata[key] = await reader.string();
    } else {
      const value = await reader.scalar(type);
      metadata[key] = typeof value === 'bigint' ? value.toString() : value;
    }
  }

  let parameterCount = 0;
  let weightBytes = 0;
  let knownTypes = true;
  let dataEnd = 0;
  for (let i = 0; i < tensorCount; i++) {
    const name = await reader.string();
    const dimCount = await reader.u32();
    if (dimCount > 8) throw invalid(path, `tensor ${name} has ${dimCount} dimensions`);
    let elements = 1;
    for (let d = 0; d < dimCount; d++) elements *= await reader.u64();
    const type = await reader.u32();
    const offset = await reader.u64();
    parameterCount += elements;
    const traits = GGML_TYPE_SIZES[type];
    if (traits === undefined) {
      knownTypes = false;
    } else {
      const bytes = Math.ceil(elements / traits.blockSize) * traits.blockBytes;
      weightBytes += bytes;
      dataEnd = Math.max(dataEnd, offset + bytes);
    }
  }

  const alignmentValue = metadata['general.alignment'];
  const alignment = typeof alignmentValue === 'number' && alignmentValue > 0 ? alignmentValue : GGUF_DEFAULT_ALIGNMENT;
  const dataStart = alignOffset(reader.position, alignment);
  if (dataStart + dataEnd > fileBytes) {
    throw invalid(path, `truncated (tensor data needs ${dataStart + dataEnd} bytes, the file has ${fileBytes})`);
  }
  if (!knownTypes) weightBytes = Math.max(0, fileBytes - dataStart);

  return summarise(path, fileBytes, version, tensorCount, parameterCount, weightBytes, metadata, arrayLengths);
}

/** Walks past an array value, returning its element count. Nested arrays are walked recursively. */
async function skipArray(reader: GgufByteReader): Promise<number> {
  const type = await reader.u32();
  const count = await reader.u64();
  if (type === GgufValueType.String) {
    for (let i = 0; i < count; i++) await reader.skipString();
  } else if (type === GgufValueType.Array) {
    for (let i = 0; i < count; i++) await skipArray(reader);
  } else {
    const size = GGUF_SCALAR_SIZES[type];
    if (size === undefined) throw new RangeError(`unknown array element type ${type} at byte ${reader.position}`);
    await reader.skip(size * count);
  }
  return count;
}

function summarise(
  path: string,
  fileBytes: number,
  version: number,
  tensorCount: number,
  parameterCount: number,
  weightBytes: number,
  metadata: Record<string, GgufScalar>,
  arrayLengths: Record<string, number>,
): GgufInfo {
  const architectureValue = metadata['general.architecture'];
  const architecture = typeof architectureValue === 'string' ? architectureValue : 'unknown';
  const num = (key: string): number | undefined => {
    const value = metadata[`${architecture}.${key}`];
    return typeof value === 'number' ? value : undefined;
  };
  const embeddingLength = num('embedding_length');
  const blockCount = num('block_count');
  const headCount = num('attention.head_count');
  const headCountKv = num('attention.head_count_kv') ?? headCount;
  const headDim = num('attention.key_length') ?? (embeddingLength !== undefined && headCount ? embeddingLength / headCount : undefined);
  const vocabSize = arrayLengths['tokenizer.ggml.tokens'] ?? num('vocab_size');
  const kvBytesPerToken =
    blockCount !== undefined && headCountKv !== undefined && headDim !== undefined ? 2 * blockCount * headCountKv * headDim * 2 : undefined;
  const name = metadata['general.name'];
  return {
    path,
    fileBytes,
    version,
    architecture,
    ...(typeof name === 'string' ? { name } : {}),
    ...defined('contextLength', num('context_length')),
    ...defined('embeddingLength', embeddingLength),
    ...defined('blockCount', blockCount),
    ...defined('feedForwardLength', num('feed_forward_length')),
    ...defined('headCount', headCount),
    ...defined('headCountKv', headCountKv),
    ...defined('headDim', headDim),
    ...defined('vocabSize', vocabSize),
    parameterCount,
    tensorCount,
    weightBytes,
    ...defined('kvBytesPerToken', kvBytesPerToken),
    metadata,
    arrayLengths,
  };
}

function defined<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}
