/** What one committed chunk added, for a consumer that sends prompts while they are read. */
export interface IngestChunk {
  /** Input position of the chunk's first record. */
  readonly fromIndex: number;
  /** One past the input position of its last record: every record before it is now committed. */
  readonly toIndex: number;
  /** Items the chunk made pending (as `countByStatus` counts them: duplicates of others included). */
  readonly pending: number;
  /** `body.model` of the sendable items it added (null: none named), each once, in input order. */
  readonly models: ReadonlyArray<string | null>;
  /** The highest priority among each model's sendable items the chunk added. */
  readonly topPriorities: ReadonlyMap<string | null, number>;
}

/** How to read: for a run that sends prompts while it reads them. */
export interface IngestOptions {
  /** Stops reading; what was read is kept, and the summary says `stopped`. */
  readonly signal?: AbortSignal;
  /**
   * Called after each committed chunk. Given, chunks are also committed when the reader waits
   * (the first at once, later ones within `flushAfterMs`), so that what was read can be sent.
   */
  readonly onChunk?: (chunk: IngestChunk) => void;
  /** Called when the reader has had nothing for `flushAfterMs` and everything read is committed. */
  readonly onIdle?: () => void;
  /** @default 20 */
  readonly flushAfterMs?: number;
  /** Asked after each committed chunk: reading waits for the promise it returns (see readInChunks). */
  readonly pause?: () => Promise<void> | undefined;
  /**
   * Whether a custom_id met a second time only fails its line (stored as unreadable, naming both
   * places), instead of refusing the inputs with DUPLICATE_CUSTOM_ID: once prompts were sent, a
   * refusal would leave a half-run job. Asked at each duplicate. @default () => false
   */
  readonly duplicateFailsLine?: () => boolean;
  /** Called with the message of a duplicate that failed its line. */
  readonly onLineError?: (message: string) => void;
}
