import type { Backend, CompletionRequest, CompletionResult, ServerType } from '../backends/backend.js';
import { RateLimitedError } from '../backends/rate-limited-error.js';
import { BackendError } from '../errors.js';
import type { PromptItem } from '../prompts/prompt-item.js';
import { checkWholeNumber } from '../util/check-option.js';
import type { LimitPermit } from './adaptive-limit.js';
import { EndpointGate } from './endpoint-gate.js';
import { estimateRequestTokens } from './estimate-request-tokens.js';
import type { RouteLease } from './router.js';

/** One endpoint's limits, and the requests waiting for a slot there, longest waiting first. */
interface GatedEndpoint {
  readonly gate: EndpointGate;
  readonly waiters: Set<() => void>;
}

/** The limits requests to each endpoint are held to. */
export interface RequestGateOptions {
  /** Requests per minute to each endpoint (`--rpm`). @default no bound */
  readonly rpm?: number;
  /** Estimated tokens per minute to each endpoint (`--tpm`; see `estimateRequestTokens`). @default no bound */
  readonly tpm?: number;
  /** Requests in flight to each endpoint at first. */
  readonly initialConcurrency: number;
  /**
   * Most requests in flight to one endpoint, for the flavours in `probedTypes`: their concurrency
   * grows from `initialConcurrency` towards this while they answer, and is cut on each 429.
   * Other endpoints stay at most at `initialConcurrency` (and are cut on a 429 too).
   * @default initialConcurrency
   */
  readonly maxConcurrency?: number;
  /**
   * Flavours whose concurrency is probed upwards. llama-server reports its slots, and Ollama queues
   * whatever it is sent (more requests there only wait longer): only OpenAI-compatible servers,
   * hosted APIs among them, have a limit worth finding. @default ['openai']
   */
  readonly probedTypes?: readonly ServerType[];
  /** Clock in milliseconds, injectable for tests. @default performance.now */
  readonly now?: () => number;
}

/**
 * Holds each request until its endpoint may take it: `--rpm`/`--tpm` token buckets, the budgets
 * the server reports in `x-ratelimit-*` headers, and an adaptive (AIMD) concurrency limit that is
 * cut on every 429 and grows back slowly, so a remote API's real limit is found without
 * `--workers`. State is kept per endpoint URL. The scheduler asks it once per request, between
 * getting a server and sending (see `admit`).
 */
export class RequestGate {
  readonly #options: RequestGateOptions;
  readonly #maxConcurrency: number;
  readonly #probed: ReadonlySet<ServerType>;
  readonly #now: () => number;
  readonly #endpoints = new Map<string, GatedEndpoint>();

  constructor(options: RequestGateOptions) {
    if (options.rpm !== undefined) checkWholeNumber('rpm', options.rpm, 1);
    if (options.tpm !== undefined) checkWholeNumber('tpm', options.tpm, 1);
    checkWholeNumber('initialConcurrency', options.initialConcurrency, 1);
    this.#maxConcurrency = checkWholeNumber('maxConcurrency', options.maxConcurrency ?? options.initialConcurrency, options.initialConcurrency);
    this.#options = options;
    this.#probed = new Set(options.probedTypes ?? ['openai']);
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Waits until the lease's endpoint may take `item`'s request, then returns a lease whose backend
   * reports the answer to the gate (and frees the slot as soon as the answer ends, not after a
   * retry's backoff). Resolves undefined, with the lease released, when `signal` aborts first:
   * nothing was sent.
   */
  async admit(lease: RouteLease, item: PromptItem, signal: AbortSignal): Promise<RouteLease | undefined> {
    const endpoint = this.#endpointFor(lease.backend);
    // Estimated even without --tpm: a server's own x-ratelimit-remaining-tokens hold requests too.
    const tokens = estimateRequestTokens(item.body);
    const tpm = this.#options.tpm;
    // More than a minute's budget would leave the bucket in debt for tokens / tpm minutes (`--tpm 1`
    // sent one request every 25 minutes): such a prompt fails at once, sending nothing, as hosted
    // APIs refuse a request above their TPM limit.
    if (tpm !== undefined && tokens > tpm) return refusedLease(lease, overTpmError(lease.backend.url, item, tokens, tpm));
    for (;;) {
      if (signal.aborted) {
        lease.release();
        return undefined;
      }
      const admission = endpoint.gate.tryAdmit(tokens);
      if ('permit' in admission) {
        // One waiter is woken per freed slot; a slot still free (the limit grew) goes to the next.
        if (endpoint.gate.inFlight < endpoint.gate.concurrency) wakeFirst(endpoint.waiters);
        return this.#gatedLease(lease, endpoint, admission.permit);
      }
      if ('waitMs' in admission) {
        // This request waits for a rate, not a slot: a free slot goes to the next in line (a
        // smaller request may fit the token budget). Rate waiters are not in line themselves.
        if (endpoint.gate.inFlight < endpoint.gate.concurrency) wakeFirst(endpoint.waiters);
        await wakeAfter(admission.waitMs, signal);
      } else {
        await nextSlot(endpoint.waiters, signal);
      }
    }
  }

  /** The concurrency limit of an endpoint now, once it has been used. */
  concurrencyOf(url: string): number | undefined {
    return this.#endpoints.get(url)?.gate.concurrency;
  }

  #endpointFor(backend: Backend): GatedEndpoint {
    let endpoint = this.#endpoints.get(backend.url);
    if (endpoint === undefined) {
      const initial = this.#options.initialConcurrency;
      endpoint = {
        gate: new EndpointGate({
          rpm: this.#options.rpm,
          tpm: this.#options.tpm,
          initialConcurrency: initial,
          maxConcurrency: this.#probed.has(backend.type) ? this.#maxConcurrency : initial,
          now: this.#now,
        }),
        waiters: new Set(),
      };
      this.#endpoints.set(backend.url, endpoint);
    }
    return endpoint;
  }

  #gatedLease(lease: RouteLease, endpoint: GatedEndpoint, permit: LimitPermit): RouteLease {
    let held = true;
    const finish = (outcome: 'success' | 'overload' | 'other'): void => {
      if (!held) return;
      held = false;
      endpoint.gate.release(permit, outcome);
      wakeFirst(endpoint.waiters);
    };
    const inner = lease.backend;
    const backend: Backend = {
      type: inner.type,
      url: inner.url,
      async complete(request: CompletionRequest): Promise<CompletionResult> {
        try {
          const result = await inner.complete(request);
          endpoint.gate.observe(result.rateLimit);
          finish('success');
          return result;
        } catch (error) {
          if (error instanceof RateLimitedError) endpoint.gate.observe(error.rateLimit);
          finish(error instanceof BackendError && error.code === 'RATE_LIMITED' ? 'overload' : 'other');
          throw error;
        }
      },
      describe: () => inner.describe(),
      health: () => inner.health(),
      close: () => inner.close(),
    };
    return {
      backend,
      model: lease.model,
      fallback: lease.fallback,
      release: (outcome) => {
        finish('other');
        return lease.release(outcome);
      },
    };
  }
}

/** Why a prompt above `--tpm` is not sent: its estimate, the limit and the fix. */
function overTpmError(url: string, item: PromptItem, tokens: number, tpm: number): BackendError {
  return new BackendError(
    'REQUEST_OVER_TPM',
    url,
    `${item.source}: prompt ${item.customId} is estimated at ${tokens} tokens (prompt characters / 4 + max_tokens), more than --tpm ${tpm} allows in a minute; it would wait ${Math.ceil(tokens / tpm)} minutes. Not sent: raise --tpm to at least ${tokens}, or lower max_tokens`,
    { retryable: false },
  );
}

/** A lease whose backend refuses without sending: the scheduler fails the prompt with `error`. */
function refusedLease(lease: RouteLease, error: BackendError): RouteLease {
  const inner = lease.backend;
  return {
    backend: {
      type: inner.type,
      url: inner.url,
      complete: () => Promise.reject(error),
      describe: () => inner.describe(),
      health: () => inner.health(),
      close: () => inner.close(),
    },
    model: lease.model,
    fallback: lease.fallback,
    release: (outcome) => lease.release(outcome),
  };
}

/** Wakes the longest waiting request, if any (it leaves the set as it wakes). */
function wakeFirst(waiters: Set<() => void>): void {
  const first = waiters.values().next();
  if (first.done !== true) first.value();
}

/** Resolves once a slot is freed at the endpoint (the longest waiting is woken first) or `signal` aborts. */
function nextSlot(waiters: Set<() => void>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    function wake(): void {
      waiters.delete(wake);
      signal.removeEventListener('abort', wake);
      resolve();
    }
    waiters.add(wake);
    signal.addEventListener('abort', wake, { once: true });
  });
}

/** Resolves after `waitMs`, or at once when `signal` aborts. */
function wakeAfter(waitMs: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(wake, waitMs);
    function wake(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      resolve();
    }
    signal.addEventListener('abort', wake, { once: true });
  });
}
