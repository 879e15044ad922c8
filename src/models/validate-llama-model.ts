import { ServerError } from '../errors.js';
import type { GgufInfo } from './gguf-reader.js';

/**
 * Architectures that llama.cpp loads through its llama-style loader and aborts on (exit 134,
 * killing the whole process) when one of the keys below is missing.
 */
const LLAMA_FAMILY: ReadonlySet<string> = new Set(['llama', 'mistral', 'qwen2', 'qwen3', 'granite']);

/** Suffixes (after `<architecture>.`) llama.cpp requires for a llama-family model. */
const REQUIRED_ARCH_KEYS = [
  'context_length',
  'embedding_length',
  'block_count',
  'feed_forward_length',
  'attention.head_count',
  'attention.layer_norm_rms_epsilon',
] as const;

/**
 * Checks that a llama-family model has the metadata llama.cpp aborts without, so that a bad
 * file fails with a message instead of a native abort. Unknown architectures pass unchecked.
 */
export function validateLlamaModel(info: GgufInfo): void {
  if (!LLAMA_FAMILY.has(info.architecture)) return;
  const missing: string[] = [];
  for (const suffix of REQUIRED_ARCH_KEYS) {
    const key = `${info.architecture}.${suffix}`;
    if (info.metadata[key] === undefined) missing.push(key);
  }
  if (info.arrayLengths['tokenizer.ggml.tokens'] === undefined) missing.push('tokenizer.ggml.tokens');
  if (missing.length > 0) {
    throw new ServerError(
      'MODEL_INVALID',
      `model ${info.path} is invalid: missing ${missing.join(', ')}; llama.cpp cannot load a ${info.architecture} model without ${missing.length === 1 ? 'it' : 'them'} (re-download or re-convert the model)`,
    );
  }
}
