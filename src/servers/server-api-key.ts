import { randomBytes } from 'node:crypto';

/** The variable llama-server (and the embedded server, likewise) reads its API key from. */
export const SERVER_API_KEY_VARIABLE = 'LLAMA_API_KEY';

/**
 * A fresh key for one managed server: only `batch` knows it, so no other local process, and no web
 * page in the user's browser, can use or load the model server it started.
 */
export function newServerApiKey(): string {
  return randomBytes(24).toString('base64url');
}
