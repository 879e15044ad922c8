import type { SavedAdvice } from '../../hardware/saved-advice.js';
import { RequestGate } from '../../scheduler/request-gate.js';
import { workersFor, type RunSettings } from '../settings/resolve-run-settings.js';
import { unknownTarget, type RunTarget } from './run-target.js';

/**
 * Most requests in flight to one OpenAI-compatible server that reports no slots, when `--workers`
 * is not given: its concurrency starts where `--workers` would default and grows towards this
 * while it answers, cut back on each 429.
 */
export const probeCeiling = 64;

/** A run's concurrency: the scheduler's bound, and the gate that holds each endpoint to its own. */
export interface RequestGatePlan {
  /** Requests the scheduler keeps in flight or waiting at the gate, across all endpoints. */
  readonly workers: number;
  readonly gate: RequestGate;
}

/**
 * `--workers` (or the servers' slots, or saved advice) bounds each endpoint, and is where an
 * adaptive limit starts; `--rpm`/`--tpm` bound each endpoint's rate. Only when none of them says
 * how much an endpoint takes is it probed, from the default `--workers` up to `probeCeiling`.
 * Managed servers are never probed: their slots are known.
 */
export function planRequestGate(target: RunTarget, settings: RunSettings, capacity: number | undefined, advice: SavedAdvice | undefined): RequestGatePlan {
  const initial = workersFor(settings, capacity, advice);
  const probing = probes(target) && settings.workers === undefined && capacity === undefined && advice?.workers === undefined;
  const max = probing ? Math.max(initial, probeCeiling) : initial;
  return {
    workers: max,
    gate: new RequestGate({ rpm: settings.rpm, tpm: settings.tpm, initialConcurrency: initial, maxConcurrency: max }),
  };
}

/** Whether the target's endpoints may take an unknown number of requests, found by probing. */
function probes(target: RunTarget): boolean {
  switch (target.kind) {
    case 'fleet':
      return true;
    case 'managed':
    case 'daemon':
      return false;
    default:
      return unknownTarget(target);
  }
}
