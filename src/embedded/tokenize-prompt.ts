import type { ChatHistoryItem, ChatWrapper, LlamaModel, Token } from 'node-llama-cpp';

/** One chat turn as the embedded server reads it. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/**
 * The tokens of a chat prompt as the embedded server evaluates them: the messages rendered with
 * the model's chat wrapper, ending with an open assistant turn. `batch run --dry-run` counts with
 * this same function, so its counts are the server's `prompt_tokens`.
 */
export function tokenizeChat(model: LlamaModel, chatWrapper: ChatWrapper, messages: readonly ChatMessage[]): Token[] {
  const history: ChatHistoryItem[] = messages.map((message) =>
    message.role === 'system'
      ? { type: 'system', text: message.content }
      : message.role === 'user'
        ? { type: 'user', text: message.content }
        : { type: 'model', response: [message.content] },
  );
  history.push({ type: 'model', response: [] });
  const { contextText } = chatWrapper.generateContextState({ chatHistory: history });
  return contextText.tokenize(model.tokenizer);
}

/** A raw completion prompt's tokens, with BOS when the model expects one (as llama-server does). */
export function tokenizeText(model: LlamaModel, prompt: string): Token[] {
  const tokens = model.tokenize(prompt);
  const bos = model.tokens.bos;
  return bos !== null && model.tokens.shouldPrependBosToken ? [bos, ...tokens] : tokens;
}
