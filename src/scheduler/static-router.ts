import { optionError } from '../util/check-option.js';
import type { Backend, EndpointInfo } from '../backends/backend.js';
import type { ModelLoadStats, RouteLease, Router } from './router.js';

interface Endpoint {
  readonly backend: Backend;
  readonly info: EndpointInfo;
  inFlight: number;
}

/**
 * Routes to servers the user runs (`--server`, repeatable). Each request goes to the least busy
 * endpoint that serves the model, so replicas of one model share the load.
 */
export class StaticRouter implements Router {
  readonly #endpoints: Endpoint[];
  readonly capacity: number | undefined;

  constructor(endpoints: ReadonlyArray<{ readonly backend: Backend; readonly info: EndpointInfo }>) {
    if (!Array.isArray(endpoints) || endpoints.length === 0) throw optionError('endpoints', 'a non-empty array of endpoints', endpoints);
    this.#endpoints = endpoints.map((e) => ({ backend: e.backend, info: e.info, inFlight: 0 }));
    const slots = this.#endpoints.map((e) => e.info.slots);
    this.capacity = slots.every((s) => s !== undefined) ? slots.reduce((a, b) => a + b!, 0) : undefined;
  }

  acquire(model: string | undefined): Promise<RouteLease> {
    let best: Endpoint | undefined;
    for (const endpoint of this.#endpoints) {
      // An endpoint that lists its models and lacks this one is skipped when another has it;
      // when none has it, the request still goes out so the server's own 404 reaches the user.
      const serves = model === undefined || endpoint.info.models.length === 0 || endpoint.info.models.includes(model);
      if (!serves) continue;
      if (best === undefined || endpoint.inFlight < best.inFlight) best = endpoint;
    }
    const chosen = best ?? this.#endpoints.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    chosen.inFlight += 1;
    let released = false;
    return Promise.resolve({
      backend: chosen.backend,
      model,
      release: () => {
        if (released) return;
        released = true;
        chosen.inFlight -= 1;
      },
    });
  }

  residentModels(): readonly string[] {
    return [];
  }

  loadStats(): readonly ModelLoadStats[] {
    return [];
  }

  async close(): Promise<void> {
    await Promise.all(this.#endpoints.map((e) => e.backend.close()));
  }
}
