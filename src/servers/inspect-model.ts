import { readGgufInfo, type GgufInfo } from '../models/gguf-reader.js';
import { validateLlamaModel } from '../models/validate-llama-model.js';

/** Reads a model's GGUF header and checks it before any server loads it. */
export type InspectModel = (modelPath: string) => Promise<GgufInfo>;

/**
 * The one check every model passes before a server loads it, whichever server that is: its GGUF
 * header must be readable (MODEL_FILE_NOT_FOUND, MODEL_INVALID) and hold the metadata llama.cpp
 * aborts without (MODEL_INVALID: llama-server or llama.cpp would die of it, taking no message).
 */
export async function inspectModel(modelPath: string): Promise<GgufInfo> {
  const info = await readGgufInfo(modelPath);
  validateLlamaModel(info);
  return info;
}
