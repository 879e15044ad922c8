import type { ChatWrapper, Llama, LlamaModel } from 'node-llama-cpp';
import type { PromptEndpoint } from '../backends/backend.js';
import { OpenAiRequestError, parseChatRequest, parseCompletionRequest } from './embedded-openai.js';
import { inspectModel } from '../servers/inspect-model.js';
import { tokenizeChat, tokenizeText } from './tokenize-prompt.js';

/** A prompt's token count, or why the embedded server would refuse the request. */
export type PromptTokenCount = { readonly ok: true; readonly tokens: number } | { readonly ok: false; readonly message: string };

/**
 * Counts prompt tokens with a model's own tokenizer and chat template, loading only its
 * vocabulary (no weights, no context): exactly the tokens the embedded server evaluates, and so
 * its `prompt_tokens`. One per model; `close()` frees llama.cpp.
 */
export class PromptTokenCounter {
  readonly #llama: Llama;
  readonly #model: LlamaModel;
  readonly #chatWrapper: ChatWrapper;
  /** The context the model was trained for (its GGUF's `context_length`): the most a slot holds. */
  readonly trainContextSize: number | undefined;

  private constructor(llama: Llama, model: LlamaModel, chatWrapper: ChatWrapper, trainContextSize: number | undefined) {
    this.trainContextSize = trainContextSize;
    this.#llama = llama;
    this.#model = model;
    this.#chatWrapper = chatWrapper;
  }

  /** Checks the GGUF header (MODEL_INVALID instead of a native abort), then loads the vocabulary on the CPU. */
  static async open(modelPath: string): Promise<PromptTokenCounter> {
    const info = await inspectModel(modelPath);
    // Imported here: it costs ~0.8 s and only a dry run with a GGUF needs it.
    const { getLlama, resolveChatWrapper, LlamaLogLevel } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, maxThreads: 1, logLevel: LlamaLogLevel.error, progressLogs: false });
    try {
      const model = await llama.loadModel({ modelPath, vocabOnly: true, gpuLayers: 0 });
      return new PromptTokenCounter(llama, model, resolveChatWrapper(model), info.contextLength);
    } catch (error) {
      await llama.dispose();
      throw error;
    }
  }

  /** The prompt tokens of one request, read as the embedded server reads it. */
  count(endpoint: PromptEndpoint, body: Readonly<Record<string, unknown>>): PromptTokenCount {
    try {
      if (endpoint === '/v1/chat/completions') return { ok: true, tokens: tokenizeChat(this.#model, this.#chatWrapper, parseChatRequest({ ...body }, 1).messages).length };
      return { ok: true, tokens: tokenizeText(this.#model, parseCompletionRequest({ ...body }, 1).prompt).length };
    } catch (error) {
      if (error instanceof OpenAiRequestError) return { ok: false, message: error.message };
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.#model.dispose();
    await this.#llama.dispose();
  }
}
