import type { ChatWrapper, Llama, LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaModel, Token } from 'node-llama-cpp';
import { EmbeddedSlotPool } from './embedded-slot-pool.js';
import { GenerationAbortedError, GenerationRequestError, GenerationSchemaError } from './generation-errors.js';
import type { GenerationRequest, GenerationResult } from './generation-request.js';
import { tokenizeChat, tokenizeText, type ChatMessage } from './tokenize-prompt.js';

export type { ChatMessage };

/** How the engine loads its model. Validated by `startEmbeddedServer`. */
export interface EmbeddedEngineOptions {
  readonly modelPath: string;
  readonly slots: number;
  readonly contextSize: number;
  readonly threads: number;
  readonly gpu: 'auto' | false;
  /** Layers offloaded to the GPU (`--gpu-layers`); undefined: node-llama-cpp's 'auto'. Ignored (0) without a GPU. */
  readonly gpuLayers?: number;
}

/**
 * The loaded model: one llama.cpp context with `slots` sequences, each sequence a slot. Every
 * request starts from a cleared sequence, so answers never depend on earlier requests.
 */
export class EmbeddedEngine {
  readonly #llama: Llama;
  readonly #model: LlamaModel;
  readonly #context: LlamaContext;
  readonly #chatWrapper: ChatWrapper;
  readonly #wrapperStops: readonly string[];
  readonly #slots: EmbeddedSlotPool<LlamaContextSequence>;
  /** Grammars by schema text: a batch usually sends one schema with every prompt. */
  readonly #grammars = new Map<string, Promise<LlamaGrammar>>();

  /** What `/props` reports as `build_info`. */
  readonly buildInfo: string;

  private constructor(
    llama: Llama,
    model: LlamaModel,
    context: LlamaContext,
    chatWrapper: ChatWrapper,
    wrapperStops: readonly string[],
    buildInfo: string,
  ) {
    this.buildInfo = buildInfo;
    this.#llama = llama;
    this.#model = model;
    this.#context = context;
    this.#chatWrapper = chatWrapper;
    this.#wrapperStops = wrapperStops;
    const sequences: LlamaContextSequence[] = [];
    for (let i = 0; i < context.totalSequences; i++) sequences.push(context.getSequence());
    this.#slots = new EmbeddedSlotPool(sequences);
  }

  /** Loads llama.cpp (never building or downloading a binary), the model and its context. */
  static async load(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
    // Imported here, not at the top: it costs ~0.8 s and only the server process needs it.
    const { getLlama, getModuleVersion, resolveChatWrapper, LlamaLogLevel } = await import('node-llama-cpp');
    const llama = await getLlama({
      gpu: options.gpu === false ? false : 'auto',
      build: 'never',
      skipDownload: true,
      maxThreads: options.threads,
      logLevel: LlamaLogLevel.error,
      progressLogs: false,
    });
    try {
      const model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: options.gpu === false ? 0 : (options.gpuLayers ?? 'auto') });
      const context = await model.createContext({
        sequences: options.slots,
        contextSize: options.contextSize,
        threads: options.threads,
      });
      // Resolved once per process: a template-based wrapper costs ~1.8 s to build.
      const chatWrapper = resolveChatWrapper(model);
      const stops = plainStopTriggers(chatWrapper, model);
      const buildInfo = `node-llama-cpp ${await getModuleVersion()} (${llama.gpu === false ? 'cpu' : llama.gpu})`;
      return new EmbeddedEngine(llama, model, context, chatWrapper, stops, buildInfo);
    } catch (error) {
      await llama.dispose();
      throw error;
    }
  }

  /** 'cpu' or the GPU backend llama.cpp runs on. */
  get backend(): 'cpu' | 'cuda' | 'vulkan' | 'metal' {
    return this.#llama.gpu === false ? 'cpu' : this.#llama.gpu;
  }

  get slotCount(): number {
    return this.#slots.size;
  }

  /** Context size of each slot. */
  get contextSize(): number {
    return this.#context.contextSize;
  }

  get trainContextSize(): number {
    return this.#model.trainContextSize;
  }

  get chatWrapperName(): string {
    return this.#chatWrapper.wrapperName;
  }

  /** Per-slot state for `/slots`. */
  slotStates(): Array<{ id: number; n_ctx: number; is_processing: boolean }> {
    return Array.from({ length: this.#slots.size }, (_, id) => ({ id, n_ctx: this.contextSize, is_processing: this.#slots.isBusy(id) }));
  }

  /** Renders chat messages with the model's chat wrapper, ending with an open assistant turn. */
  tokenizeChat(messages: readonly ChatMessage[]): Token[] {
    return tokenizeChat(this.#model, this.#chatWrapper, messages);
  }

  /** Tokenizes a raw completion prompt, with BOS when the model expects one (as llama-server does). */
  tokenizeText(prompt: string): Token[] {
    return tokenizeText(this.#model, prompt);
  }

  /** Stop strings of the chat template, for chat requests. */
  get chatStops(): readonly string[] {
    return this.#wrapperStops;
  }

  /** Throws GenerationRequestError when a prompt cannot run in one slot's context. */
  checkPrompt(tokens: readonly Token[]): void {
    if (tokens.length === 0) throw new GenerationRequestError('the prompt is empty after tokenization; send a non-empty prompt');
    if (tokens.length >= this.contextSize) {
      throw new GenerationRequestError(
        `the prompt has ${tokens.length} tokens, more than fit in the context of ${this.contextSize} tokens per slot; shorten the prompt or start the server with a larger --ctx`,
      );
    }
  }

  /** Runs one request on the next free slot (waiting FIFO when all are busy). */
  async generate(request: GenerationRequest): Promise<GenerationResult> {
    this.checkPrompt(request.tokens);
    const promptTokens = request.tokens.length;
    const maxTokens = Math.min(request.maxTokens, this.contextSize - promptTokens);
    const grammar = request.jsonSchema === undefined ? undefined : await this.#grammarFor(request.jsonSchema);
    const slot = await this.#slots.acquire();
    try {
      const sequence = slot.value;
      await sequence.clearHistory();
      return await this.#run(sequence, request, maxTokens, grammar);
    } finally {
      this.#slots.release(slot);
    }
  }

  /** The grammar of a JSON Schema (as llama-server's `json_schema`), made once per schema. */
  async #grammarFor(schema: Readonly<Record<string, unknown>>): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let grammar = this.#grammars.get(key);
    if (grammar === undefined) {
      grammar = this.#llama.createGrammarForJsonSchema(schema as Parameters<Llama['createGrammarForJsonSchema']>[0]);
      this.#grammars.set(key, grammar);
      // A schema that failed once fails again: forget it, so the cache holds only grammars.
      grammar.catch(() => this.#grammars.delete(key));
    }
    try {
      return await grammar;
    } catch (error) {
      throw new GenerationSchemaError(`"json_schema": ${(error as Error).message}`);
    }
  }

  async #run(sequence: LlamaContextSequence, request: GenerationRequest, maxTokens: number, grammar?: LlamaGrammar): Promise<GenerationResult> {
    const started = performance.now();
    let firstTokenAt: number | undefined;
    const generated: Token[] = [];
    // The grammar's own end (a JSON grammar allows trailing newlines) stops generation too.
    const grammarStops = grammar?.stopGenerationTriggers.filter((stop): stop is string => typeof stop === 'string') ?? [];
    request = grammarStops.length === 0 ? request : { ...request, stop: [...request.stop, ...grammarStops] };
    const grammarState = grammar === undefined ? undefined : new (await import('node-llama-cpp')).LlamaGrammarEvaluationState({ model: this.#model, grammar });
    const longestStop = request.stop.reduce((max, stop) => Math.max(max, stop.length), 0);
    let text = '';
    let emitted = 0;
    let finishReason: 'stop' | 'length' = 'length';
    if (maxTokens > 0 && !request.signal.aborted) {
      const tokens = sequence.evaluate([...request.tokens], {
        temperature: request.temperature,
        topP: request.topP,
        ...(request.seed === undefined ? {} : { seed: request.seed }),
        ...(grammarState === undefined ? {} : { grammarEvaluationState: grammarState }),
      });
      for await (const token of tokens) {
        firstTokenAt ??= performance.now();
        if (this.#model.isEogToken(token)) {
          finishReason = 'stop';
          break;
        }
        generated.push(token);
        text = this.#model.detokenize(generated);
        const stopAt = findStop(text, request.stop);
        if (stopAt !== -1) {
          text = text.slice(0, stopAt);
          finishReason = 'stop';
          break;
        }
        if (request.onText !== undefined) {
          // Hold back what may still become a stop string or an incomplete UTF-8 character.
          let safe = text.length - Math.max(0, longestStop - 1);
          while (safe > emitted && text[safe - 1] === '\uFFFD') safe--;
          if (safe > emitted) {
            request.onText(text.slice(emitted, safe));
            emitted = safe;
          }
        }
        if (generated.length >= maxTokens || request.signal.aborted) break;
      }
    }
    // A stopped generation must not look like a finished one (a batch would keep half an answer).
    if (request.signal.aborted) throw new GenerationAbortedError();
    if (grammar?.trimWhitespaceSuffix === true) text = text.trimEnd();
    if (request.onText !== undefined && text.length > emitted) request.onText(text.slice(emitted));
    const ended = performance.now();
    const promptMs = (firstTokenAt ?? ended) - started;
    const predictedMs = ended - (firstTokenAt ?? ended);
    const promptN = request.tokens.length;
    const predictedN = generated.length;
    return {
      text,
      finishReason,
      promptTokens: promptN,
      completionTokens: predictedN,
      timings: {
        prompt_n: promptN,
        prompt_ms: promptMs,
        prompt_per_second: promptMs > 0 ? (promptN * 1000) / promptMs : 0,
        predicted_n: predictedN,
        predicted_ms: predictedMs,
        predicted_per_second: predictedMs > 0 ? (predictedN * 1000) / predictedMs : 0,
        cache_n: 0,
      },
    };
  }

  /** Frees the context, model and native library. */
  async close(): Promise<void> {
    await this.#context.dispose();
    await this.#model.dispose();
    await this.#llama.dispose();
  }
}

function findStop(text: string, stops: readonly string[]): number {
  let first = -1;
  for (const stop of stops) {
    if (stop === '') continue;
    const at = text.indexOf(stop);
    if (at !== -1 && (first === -1 || at < first)) first = at;
  }
  return first;
}

/**
 * The chat wrapper's stop triggers that are plain text. Triggers made of special tokens (EOS,
 * `<|im_end|>`) end generation as end-of-generation tokens already.
 */
function plainStopTriggers(chatWrapper: ChatWrapper, model: LlamaModel): string[] {
  const { stopGenerationTriggers } = chatWrapper.generateContextState({ chatHistory: [{ type: 'model', response: [] }] });
  const stops: string[] = [];
  for (const trigger of stopGenerationTriggers) {
    if (trigger.values.every((value) => typeof value === 'string')) {
      const stop = trigger.values.join('');
      if (stop !== '' && !model.isEogToken(model.tokenize(stop, true)[0])) stops.push(stop);
    }
  }
  return stops;
}
