type Headers = Record<string, string | string[] | undefined>;

/**
 * What a remote API said about its rate limits in one answer's `x-ratelimit-*` headers (OpenAI's
 * names, also sent by Azure OpenAI, Groq, Together, vLLM's proxies and others). Each budget is
 * there only when the server sent both its remaining count and its reset time.
 */
export interface RateLimitState {
  /** Requests the server will still accept before `resetRequestsMs` passes. */
  readonly remainingRequests?: number;
  /** Milliseconds until the request budget is full again (`x-ratelimit-reset-requests`). */
  readonly resetRequestsMs?: number;
  /** Tokens the server will still accept before `resetTokensMs` passes. */
  readonly remainingTokens?: number;
  /** Milliseconds until the token budget is full again (`x-ratelimit-reset-tokens`). */
  readonly resetTokensMs?: number;
}

const unitMs: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };

/**
 * Milliseconds from a reset header: a Go duration as OpenAI writes it (`1s`, `6m0s`, `20ms`,
 * `1h2m3.5s`), or a bare number of seconds (as some proxies write it); undefined for anything else.
 */
export function parseResetDuration(text: string | undefined): number | undefined {
  const raw = text?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|us|\u00b5s|ns|h|m|s)/y;
  let total = 0;
  let at = 0;
  while (at < raw.length) {
    part.lastIndex = at;
    const match = part.exec(raw);
    if (match === null) return undefined;
    total += Number(match[1]) * unitMs[match[2]!]!;
    at = part.lastIndex;
  }
  return Math.ceil(total);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function count(value: string | string[] | undefined): number | undefined {
  const text = first(value)?.trim();
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** The rate-limit budgets an answer's headers report, or undefined when they report none. */
export function parseRateLimitHeaders(headers: Headers): RateLimitState | undefined {
  const remainingRequests = count(headers['x-ratelimit-remaining-requests']);
  const resetRequestsMs = parseResetDuration(first(headers['x-ratelimit-reset-requests']));
  const remainingTokens = count(headers['x-ratelimit-remaining-tokens']);
  const resetTokensMs = parseResetDuration(first(headers['x-ratelimit-reset-tokens']));
  const requests = remainingRequests !== undefined && resetRequestsMs !== undefined;
  const tokens = remainingTokens !== undefined && resetTokensMs !== undefined;
  if (!requests && !tokens) return undefined;
  return {
    ...(requests ? { remainingRequests, resetRequestsMs } : {}),
    ...(tokens ? { remainingTokens, resetTokensMs } : {}),
  };
}

/**
 * How long a 429 says to wait when it sends no `Retry-After`: until the spent budget (remaining 0)
 * resets, the later of the two when both are spent; when neither says it is spent, until the
 * earlier reset. Undefined when the headers give no reset.
 */
export function rateLimitWaitMs(state: RateLimitState | undefined): number | undefined {
  if (state === undefined) return undefined;
  const budgets = [
    { remaining: state.remainingRequests, resetMs: state.resetRequestsMs },
    { remaining: state.remainingTokens, resetMs: state.resetTokensMs },
  ].filter((budget): budget is { remaining: number; resetMs: number } => budget.remaining !== undefined && budget.resetMs !== undefined);
  if (budgets.length === 0) return undefined;
  const spent = budgets.filter((budget) => budget.remaining <= 0);
  return spent.length > 0 ? Math.max(...spent.map((b) => b.resetMs)) : Math.min(...budgets.map((b) => b.resetMs));
}
