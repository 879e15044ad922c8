import { createReadStream } from 'node:fs';
import { PromptError } from '../errors.js';

/**
 * A file's bytes, one stream chunk at a time, read only as fast as they are consumed. Stopping
 * early closes the file. An I/O error becomes a PROMPT_FILE_INVALID that names the file.
 */
export async function* readFileChunks(filePath: string, source: string): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(filePath);
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PromptError('PROMPT_FILE_INVALID', source, `cannot read the file (${reason}); check that it exists and is readable`);
  } finally {
    stream.destroy();
  }
}
