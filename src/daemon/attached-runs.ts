import { isProcessAlive } from '../store/is-process-alive.js';

/** A client of the daemon as `batch ps` shows it: a run (its pid and job), or another client. */
export interface AttachedRun {
  /** The run's pid, from its `x-batch-run` header; undefined for a client that sends none. */
  readonly pid: number | undefined;
  /** The run's job, from its `x-batch-job` header. */
  readonly job: string | undefined;
  /** Requests of it on a model server now. */
  readonly inFlight: number;
  /** Requests of it waiting for a slot now. */
  readonly waiting: number;
  /** Requests it sent since it attached. */
  readonly requests: number;
  /** The model of its last request: the group of prompts it is in. */
  readonly model: string | undefined;
  /** Epoch ms of its last request. */
  readonly lastSeenAt: number;
}

interface RunState {
  pid: number | undefined;
  job: string | undefined;
  inFlight: number;
  waiting: number;
  requests: number;
  model: string | undefined;
  lastSeenAt: number;
}

/** The client id of a request: its run's pid when it names one, else one id for all other clients. */
export function clientOf(headers: Readonly<Record<string, string | string[] | undefined>>): { readonly id: string; readonly pid: number | undefined; readonly job: string | undefined } {
  const raw = headers['x-batch-run'];
  const pid = typeof raw === 'string' && /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : undefined;
  const jobHeader = headers['x-batch-job'];
  const job = typeof jobHeader === 'string' && jobHeader !== '' ? decodeURIComponent(jobHeader).slice(0, 200) : undefined;
  return { id: pid === undefined ? 'other' : `run:${pid}`, pid, job };
}

/**
 * The daemon's clients and what each does now. A run "holds" a model while it is inside that
 * model's group of prompts: it has requests on it, or its last request named it less than
 * `holdMs` ago and its process is alive. A held model is never evicted to make room for another,
 * so two runs on two models with room for one take turns by group instead of thrashing.
 */
export class AttachedRuns {
  readonly #runs = new Map<string, RunState>();
  readonly #holdMs: number;
  readonly #now: () => number;

  constructor(options: { readonly holdMs: number; readonly now?: () => number }) {
    this.#holdMs = options.holdMs;
    this.#now = options.now ?? Date.now;
  }

  /** A request of `client` for `model` arrived: it waits for a slot. Returns what to call as it moves on. */
  arrive(client: ReturnType<typeof clientOf>, model: string): { readonly admitted: () => void; readonly ended: () => void } {
    let run = this.#runs.get(client.id);
    if (run === undefined) {
      run = { pid: client.pid, job: client.job, inFlight: 0, waiting: 0, requests: 0, model, lastSeenAt: this.#now() };
      this.#runs.set(client.id, run);
    }
    const state = run;
    state.job = client.job ?? state.job;
    state.model = model;
    state.lastSeenAt = this.#now();
    state.requests += 1;
    state.waiting += 1;
    let stage: 'waiting' | 'admitted' | 'ended' = 'waiting';
    return {
      admitted: () => {
        if (stage !== 'waiting') return;
        stage = 'admitted';
        state.waiting -= 1;
        state.inFlight += 1;
      },
      ended: () => {
        if (stage === 'ended') return;
        if (stage === 'waiting') state.waiting -= 1;
        else state.inFlight -= 1;
        stage = 'ended';
        state.lastSeenAt = this.#now();
      },
    };
  }

  /** Whether a run is inside `model`'s group now (see the class). */
  holds(model: string): boolean {
    const now = this.#now();
    for (const run of this.#runs.values()) {
      if (run.model !== model || run.pid === undefined) continue;
      if (run.inFlight > 0 || run.waiting > 0) return true;
      if (now - run.lastSeenAt < this.#holdMs && isProcessAlive(run.pid)) return true;
    }
    return false;
  }

  /** The clients seen, less the runs whose process is gone and that have nothing in flight. */
  list(): readonly AttachedRun[] {
    for (const [id, run] of this.#runs) {
      if (run.inFlight === 0 && run.waiting === 0 && (run.pid === undefined ? this.#now() - run.lastSeenAt > this.#holdMs : !isProcessAlive(run.pid))) this.#runs.delete(id);
    }
    return [...this.#runs.values()].map((run) => ({ ...run }));
  }
}
