type Json = Record<string, unknown>;

/** The sizes a "prompt too long" answer names, when it names them. */
export interface ContextOverflow {
  /** Tokens in the prompt (llama-server `n_prompt_tokens`). */
  readonly promptTokens: number | undefined;
  /** Tokens of context the slot holds (llama-server `n_ctx`). */
  readonly contextTokens: number | undefined;
}

/** llama-server's message: "request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it". */
const llamaMessage = /exceeds the available context size/i;
const sizesInMessage = /\((\d+) tokens?\) exceeds the available context size \((\d+) tokens?\)/i;
/** The embedded server's (and batch serve's) message: "the prompt has 5000 tokens, more than fit in the context of 4096 tokens per slot". */
const embeddedSizes = /the prompt has (\d+) tokens?, more than fit in the context of (\d+) tokens?/i;

function asObject(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Whether an error body is llama-server's "the prompt does not fit the context" answer (a 400 with
 * type `exceed_context_size_error`, or its message in older builds), and the sizes it names.
 * Undefined for any other body: sending such a prompt again cannot succeed, other 400s are not this.
 */
export function contextOverflow(bodyText: string): ContextOverflow | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  const inner = asObject(asObject(parsed)?.error);
  if (inner === undefined) return undefined;
  const message = typeof inner.message === 'string' ? inner.message : '';
  // llama-server's own type or message, or the code OpenAI-compatible servers use (vLLM, batch serve).
  if (inner.type !== 'exceed_context_size_error' && inner.code !== 'context_length_exceeded' && !llamaMessage.test(message)) return undefined;
  const sizes = sizesInMessage.exec(message) ?? embeddedSizes.exec(message);
  return {
    promptTokens: count(inner.n_prompt_tokens) ?? (sizes ? Number(sizes[1]) : undefined),
    contextTokens: count(inner.n_ctx) ?? (sizes ? Number(sizes[2]) : undefined),
  };
}

/** The message of a CONTEXT_EXCEEDED error: the two sizes, where, and the two ways out. */
export function contextExceededMessage(url: string, overflow: ContextOverflow): string {
  const prompt = overflow.promptTokens === undefined ? 'the prompt' : `the prompt (${overflow.promptTokens} tokens)`;
  const context = overflow.contextTokens === undefined ? 'the context of a slot' : `the context of a slot (${overflow.contextTokens} tokens)`;
  return `${url}: ${prompt} does not fit ${context}; raise the context (--ctx for a server batch starts, the server's -c/--ctx-size otherwise, which llama-server splits across its slots) or shorten the prompt`;
}
