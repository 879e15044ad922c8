/** The four bytes every GGUF file starts with ("GGUF", read as a little-endian u32). */
export const GGUF_MAGIC = 0x46554747;

/** GGUF versions this project reads. v1 used 32-bit counts and is long gone from the wild. */
export const SUPPORTED_GGUF_VERSIONS: readonly number[] = [2, 3];

/** The default alignment of the tensor data section when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types as numbered in the GGUF spec. */
export const GgufValueType = {
  Uint8: 0,
  Int8: 1,
  Uint16: 2,
  Int16: 3,
  Uint32: 4,
  Int32: 5,
  Float32: 6,
  Bool: 7,
  String: 8,
  Array: 9,
  Uint64: 10,
  Int64: 11,
  Float64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** Byte size of each fixed-size metadata value type; strings and arrays are variable. */
export const GGUF_SCALAR_SIZES: Readonly<Record<number, number>> = {
  [GgufValueType.Uint8]: 1,
  [GgufValueType.Int8]: 1,
  [GgufValueType.Uint16]: 2,
  [GgufValueType.Int16]: 2,
  [GgufValueType.Uint32]: 4,
  [GgufValueType.Int32]: 4,
  [GgufValueType.Float32]: 4,
  [GgufValueType.Bool]: 1,
  [GgufValueType.Uint64]: 8,
  [GgufValueType.Int64]: 8,
  [GgufValueType.Float64]: 8,
};

/** ggml tensor type ids used by the writer. */
export const GgmlTypeId = { F32: 0 } as const;

/**
 * ggml tensor types: elements per block and bytes per block (ggml.c `type_traits`). Used to size
 * tensor data without reading it; a type missing here makes the reader fall back to the size of
 * the data section.
 */
export const GGML_TYPE_SIZES: Readonly<Record<number, { readonly blockSize: number; readonly blockBytes: number }>> = {
  0: { blockSize: 1, blockBytes: 4 }, // F32
  1: { blockSize: 1, blockBytes: 2 }, // F16
  2: { blockSize: 32, blockBytes: 18 }, // Q4_0
  3: { blockSize: 32, blockBytes: 20 }, // Q4_1
  6: { blockSize: 32, blockBytes: 22 }, // Q5_0
  7: { blockSize: 32, blockBytes: 24 }, // Q5_1
  8: { blockSize: 32, blockBytes: 34 }, // Q8_0
  9: { blockSize: 32, blockBytes: 36 }, // Q8_1
  10: { blockSize: 256, blockBytes: 84 }, // Q2_K
  11: { blockSize: 256, blockBytes: 110 }, // Q3_K
  12: { blockSize: 256, blockBytes: 144 }, // Q4_K
  13: { blockSize: 256, blockBytes: 176 }, // Q5_K
  14: { blockSize: 256, blockBytes: 210 }, // Q6_K
  15: { blockSize: 256, blockBytes: 292 }, // Q8_K
  16: { blockSize: 256, blockBytes: 66 }, // IQ2_XXS
  17: { blockSize: 256, blockBytes: 74 }, // IQ2_XS
  18: { blockSize: 256, blockBytes: 98 }, // IQ3_XXS
  19: { blockSize: 256, blockBytes: 50 }, // IQ1_S
  20: { blockSize: 32, blockBytes: 18 }, // IQ4_NL
  21: { blockSize: 256, blockBytes: 110 }, // IQ3_S
  22: { blockSize: 256, blockBytes: 82 }, // IQ2_S
  23: { blockSize: 256, blockBytes: 136 }, // IQ4_XS
  24: { blockSize: 1, blockBytes: 1 }, // I8
  25: { blockSize: 1, blockBytes: 2 }, // I16
  26: { blockSize: 1, blockBytes: 4 }, // I32
  27: { blockSize: 1, blockBytes: 8 }, // I64
  28: { blockSize: 1, blockBytes: 8 }, // F64
  29: { blockSize: 256, blockBytes: 56 }, // IQ1_M
  30: { blockSize: 1, blockBytes: 2 }, // BF16
  34: { blockSize: 256, blockBytes: 54 }, // TQ1_0
  35: { blockSize: 256, blockBytes: 66 }, // TQ2_0
  39: { blockSize: 32, blockBytes: 17 }, // MXFP4
};

/** Rounds `offset` up to a multiple of `alignment`. */
export function alignOffset(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}
