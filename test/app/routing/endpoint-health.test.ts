import { describe, expect, it } from 'vitest';
import { BackendError, UsageError } from '../../../src/errors.js';
import { EndpointHealth, failureKind } from '../../../src/app/routing/endpoint-health.js';

const url = 'http://a';
const refused = new BackendError('SERVER_UNREACHABLE', url, 'refused', { retryable: true });
const tls = new BackendError('SERVER_UNREACHABLE', url, 'bad certificate');
const reset = new BackendError('CONNECTION_RESET', url, 'reset', { retryable: true });
const error500 = new BackendError('SERVER_ERROR', url, '500', { retryable: true, statusCode: 500 });
const loading503 = new BackendError('SERVER_ERROR', url, 'Loading model', { retryable: true, statusCode: 503 });
const rejected400 = new BackendError('REQUEST_REJECTED', url, '400', { statusCode: 400 });
const stalled = new BackendError('STALLED', url, 'silent', { retryable: true });

describe('failureKind: which failures speak of the server\'s health', () => {
  it('refused connections are down, 503 is loading, resets/stalls/5xx are failures, answers and TLS say nothing', () => {
    expect(failureKind(refused)).toBe('down');
    expect(failureKind(loading503)).toBe('loading');
    expect(failureKind(reset)).toBe('failure');
    expect(failureKind(stalled)).toBe('failure');
    expect(failureKind(error500)).toBe('failure');
    expect(failureKind(rejected400)).toBeUndefined();
    expect(failureKind(tls)).toBeUndefined();
    expect(failureKind(new BackendError('RATE_LIMITED', url, '429', { retryable: true, statusCode: 429 }))).toBeUndefined();
  });
});

describe('EndpointHealth: the circuit breaker of one endpoint', () => {
  it('opens at the third failure in a row, not before; an answer in between starts the count again', () => {
    const health = new EndpointHealth();
    expect(health.recordFailure(reset, 1)).toEqual({ excused: false, opened: false });
    expect(health.recordFailure(error500, 2)).toEqual({ excused: false, opened: false });
    health.recordAnswer();
    expect(health.recordFailure(reset, 3)).toEqual({ excused: false, opened: false });
    expect(health.recordFailure(reset, 4)).toEqual({ excused: false, opened: false });
    expect(health.state).toBe('closed');
    expect(health.recordFailure(stalled, 5)).toEqual({ excused: false, opened: true });
    expect(health.state).toBe('open');
    expect(health.downSince).toBe(5);
    expect(health.accepts(0)).toBe(false);
  });

  it('opens at once when nothing listens (a request that never reached a model is not charged), and excuses the requests that fail after it is known down', () => {
    const health = new EndpointHealth();
    expect(health.recordFailure(refused, 10)).toEqual({ excused: true, opened: true });
    // Requests already on their way to the dead server: not the prompts' fault.
    expect(health.recordFailure(reset, 11)).toEqual({ excused: true, opened: false });
    expect(health.recordFailure(refused, 12)).toEqual({ excused: true, opened: false });
    expect(health.downSince).toBe(10);
  });

  it('a 503 "loading" opens it without charging the request, and probes every second while loading', () => {
    const health = new EndpointHealth({ loadingProbeMs: 1000 });
    expect(health.recordFailure(loading503, 1)).toEqual({ excused: true, opened: true });
    expect(health.loading).toBe(true);
    expect(health.probeDelayMs()).toBe(1000);
    health.recordProbe('loading');
    expect(health.probeDelayMs()).toBe(1000);
  });

  it('probes with a cooldown that doubles up to its cap while the server stays down', () => {
    const health = new EndpointHealth({ baseCooldownMs: 100, maxCooldownMs: 500 });
    health.recordFailure(refused, 0);
    const delays = [health.probeDelayMs()];
    for (let i = 0; i < 5; i++) {
      health.recordProbe('down');
      delays.push(health.probeDelayMs());
    }
    expect(delays).toEqual([100, 200, 400, 500, 500, 500]);
  });

  it('a good probe lets one request through (half-open); its answer closes the breaker, its failure reopens it, charged', () => {
    const health = new EndpointHealth({ baseCooldownMs: 100, maxCooldownMs: 10_000 });
    health.recordFailure(refused, 0);
    health.recordProbe('ok');
    expect(health.state).toBe('half-open');
    expect(health.accepts(0)).toBe(true);
    expect(health.accepts(1)).toBe(false);
    // A server that says "ok" to probes and fails every request: the trial is charged, the cooldown grows.
    expect(health.recordFailure(error500, 5)).toEqual({ excused: false, opened: true });
    expect(health.probeDelayMs()).toBe(200);
    health.recordProbe('ok');
    expect(health.recordFailure(loading503, 6)).toEqual({ excused: false, opened: true });
    health.recordProbe('ok');
    health.recordAnswer();
    expect(health.state).toBe('closed');
    expect(health.downSince).toBeUndefined();
    expect(health.accepts(50)).toBe(true);
    health.recordFailure(refused, 7);
    expect(health.probeDelayMs()).toBe(100);
  });

  it('refuses bad thresholds with UsageError', () => {
    expect(() => new EndpointHealth({ failureThreshold: 0 })).toThrow(UsageError);
    expect(() => new EndpointHealth({ maxCooldownMs: -1 })).toThrow(UsageError);
  });
});
