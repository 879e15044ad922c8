import type { Readable } from 'node:stream';
import type { SchedulerListener, WorkSource } from '../../scheduler/batch-scheduler.js';
import type { CheckpointStore } from '../../store/checkpoint-store.js';
import type { IngestSummary } from '../../store/item-ingester.js';
import { readJobPrompts } from '../job/read-job-prompts.js';
import { InputContentHash } from '../../prompts/input-content-hash.js';
import { reportInvalidPrompts, type InvalidTally } from '../job/report-invalid-prompts.js';
import type { RunJobContext } from './run-job-options.js';
import type { RunPlan } from './run-plan.js';
import { StreamingIngest, type ReadingSink } from './streaming-ingest.js';

export interface RunIngestOptions {
  readonly store: CheckpointStore;
  readonly plan: RunPlan;
  readonly jobId: number;
  /** `--cache`: prompts answered by earlier jobs in the database are not sent. */
  readonly cache: boolean;
  readonly context: Pick<RunJobContext, 'cwd' | 'stdin' | 'softStop' | 'notice' | 'onTotal'>;
}

/**
 * The ingest phase: where a run's work comes from. A new job's inputs are read and checkpointed
 * while its first prompts are sent (streaming); a job that holds items already has its inputs
 * compared with them first (a changed or removed line must not be sent as it was), and its work
 * is then paged from the store; a resume that reads nothing sends what the store holds.
 */
export class RunIngest {
  /** Told of the number of prompts to send as it grows while the inputs are read (the telemetry, once started). */
  onPending: ((pending: number) => void) | undefined;
  /** The first unreadable prompt, for the message when every one is. */
  readonly invalid: InvalidTally = {};
  /** Prompts read, in this job's shard or not. */
  readonly read = { seen: 0 };
  /** What the inputs hold, fingerprinted as they are read: shards of other inputs cannot merge. */
  readonly #contentHash = new InputContentHash();
  readonly #options: RunIngestOptions;
  #summary: IngestSummary | undefined;
  #streaming: StreamingIngest | undefined;

  constructor(options: RunIngestOptions) {
    this.#options = options;
  }

  /** Reads the inputs when the plan says so; returns once the first work is known. */
  async start(): Promise<void> {
    const { plan, store, jobId } = this.#options;
    if (plan.reread) await this.#read();
    if (this.complete && plan.reread) store.setInputsRead(jobId, true, this.#contentHash.fingerprint);
    if (this.#summary?.stopped === true) this.#stopReadingStdin();
  }

  async #read(): Promise<void> {
    const { store, plan, jobId, context } = this.#options;
    // Until reading ends, the job holds only part of its inputs (whatever stops this run).
    store.setInputsRead(jobId, false);
    // The store's key finds duplicate custom_ids: the readers keep nothing per prompt.
    const prompts = readJobPrompts(plan.inputs, { cwd: context.cwd, stdin: context.stdin, checkCustomIds: false, template: plan.template, shard: plan.share, selection: this.read, jsonSchema: plan.jsonSchema, contentHash: this.#contentHash, filePriorities: plan.filePriorities });
    const records = reportInvalidPrompts(prompts, plan.job, context.notice, this.invalid);
    if (store.countByStatus(jobId).total > 0) {
      this.#summary = await store.ingest(jobId, records, { signal: context.softStop });
      return;
    }
    // A new job: sending starts with its first prompts, reading goes on beside it.
    const streaming = new StreamingIngest({
      store,
      jobId,
      records,
      signal: context.softStop,
      cache: this.#options.cache,
      onLineError: (message) => context.notice?.(`skipped: ${message}`),
      onTotal: (total) => {
        context.onTotal?.(total);
        this.onPending?.(total.pending);
      },
    });
    this.#streaming = streaming;
    await streaming.firstWork();
    if (!streaming.reading) this.#summary = await streaming.finished;
  }

  /** What reading found (read, invalid, changed, superseded); undefined while still reading, or when nothing was read. */
  get summary(): IngestSummary | undefined {
    return this.#summary;
  }

  /** Whether the inputs are still being read beside the sending. */
  get reading(): boolean {
    return this.#streaming?.reading === true;
  }

  /** Whether the job holds every item of its inputs: `batch resume` can continue it without them. */
  get complete(): boolean {
    return this.#summary?.stopped !== true && !this.reading;
  }

  /** Prompts to send now: the store's count, or what was read so far while reading goes on. */
  pending(stored: number): number {
    return this.#streaming?.pending ?? stored;
  }

  /**
   * Refused before the first request (a duplicate custom_id, an unreadable file): no job. A small
   * input is read whole first (its duplicate ids refuse the run), a large one or a producer still
   * writing is sent beside the reading.
   */
  async readyToDispatch(): Promise<void> {
    await this.#streaming?.readyToDispatch();
    this.#streaming?.throwIfFailed();
  }

  /** The scheduler's work: the prompts read so far while reading goes on, else the store's pending prompts. */
  workSource(pageSize: number): WorkSource {
    const { store, jobId } = this.#options;
    return this.#streaming?.workSource(pageSize) ?? { models: () => store.pendingModels(jobId), items: (model) => store.pendingItems(jobId, { model, pageSize }) };
  }

  /**
   * Inputs read (and checkpointed) before this point: the output may grow up to any answer; while
   * they are read beside the sending, up to what was read. Not before the first request: a run
   * refused earlier leaves no output file behind.
   */
  beginDispatch(sink: ReadingSink): void {
    if (this.#streaming) this.#streaming.beginDispatch(sink);
    else if (this.#summary?.stopped !== true) sink.readingEnded();
  }

  /** Reading that fails once prompts were sent stops the sending; its error ends the run. */
  softStop(signal: AbortSignal | undefined): AbortSignal | undefined {
    const failed = this.#streaming?.failedSignal;
    return failed && signal ? AbortSignal.any([signal, failed]) : (failed ?? signal);
  }

  /** Joins the run's listeners while the inputs are read beside the sending (reading goes on once the first request is out). */
  get listener(): SchedulerListener | undefined {
    return this.#streaming?.listener;
  }

  /**
   * After dispatch: reading stops with it (a stop, a store failure), and the job is marked as
   * holding all its inputs when it does. Returns the prompts answered from the cache while reading.
   */
  async finish(): Promise<number> {
    const streaming = this.#streaming;
    if (streaming === undefined) return 0;
    await streaming.stop();
    this.#summary = await streaming.finished;
    if (this.complete) this.#options.store.setInputsRead(this.#options.jobId, true, this.#contentHash.fingerprint);
    else this.#stopReadingStdin();
    return streaming.cached;
  }

  /** Stops reading, before the store closes (nothing may write it then). */
  async stop(): Promise<void> {
    await this.#streaming?.stop();
  }

  /** The rest of standard input is not read: a producer still writing must not keep `batch` alive. */
  #stopReadingStdin(): void {
    if (this.#options.plan.inputs.includes('-')) (this.#options.context.stdin as Partial<Readable>).destroy?.();
  }
}
