/** FNV-1a, 32 bits: stable across runs and processes, and cheap enough for 10k requests/s. */
export function hashText(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/**
 * The answer the simulator gives to a prompt. Derived from the prompt alone, so that a test can
 * check that every result landed on its own prompt: `sim:<hash>:<first 40 characters>`.
 */
export function simAnswer(promptText: string): string {
  return `sim:${hashText(promptText)}:${promptText.slice(0, 40)}`;
}

/** A rough token count (4 characters a token), at least 1, for `usage` and timings. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
