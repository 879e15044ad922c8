/** Characters per token of English text with GPT-style tokenizers: OpenAI's own rule of thumb. */
const charsPerToken = 4;

/** Characters of the text a request sends: message contents (strings and text parts) or the prompt. */
function promptChars(body: Readonly<Record<string, unknown>>): number {
  let chars = 0;
  const add = (value: unknown): void => {
    if (typeof value === 'string') chars += value.length;
    else if (Array.isArray(value)) for (const part of value) add(part);
    else if (value !== null && typeof value === 'object' && typeof (value as { text?: unknown }).text === 'string') chars += (value as { text: string }).text.length;
  };
  const messages = body.messages;
  if (Array.isArray(messages)) {
    for (const message of messages) if (message !== null && typeof message === 'object') add((message as { content?: unknown }).content);
  }
  add(body.prompt);
  return chars;
}

/**
 * The tokens a request counts against a `--tpm` budget, estimated before it is sent the way hosted
 * APIs count it: the prompt's characters / 4, plus the completion tokens it may generate
 * (`max_tokens` or `max_completion_tokens`, when set). An estimate: no tokenizer is run.
 */
export function estimateRequestTokens(body: Readonly<Record<string, unknown>>): number {
  const cap = body.max_completion_tokens ?? body.max_tokens;
  const completion = typeof cap === 'number' && Number.isFinite(cap) && cap > 0 ? Math.floor(cap) : 0;
  return Math.max(1, Math.ceil(promptChars(body) / charsPerToken) + completion);
}
