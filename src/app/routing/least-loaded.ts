/** An endpoint as routing by capacity sees it. */
export interface Routable {
  readonly url: string;
  /** Requests it has in flight now. */
  readonly inFlight: number;
  /** Its capacity: slots times weight. */
  readonly share: number;
}

/**
 * The endpoint with the fewest requests in flight relative to its capacity, counting the one
 * about to be sent (so that an idle 8-slot server is preferred to an idle 2-slot one); ties go to
 * the larger. `avoid` (where the last attempt failed) is chosen only when nothing else can be.
 */
export function leastLoaded<T extends Routable>(candidates: Iterable<T>, avoid?: string): T | undefined {
  let best: T | undefined;
  let bestLoad = Infinity;
  let fallback: T | undefined;
  for (const e of candidates) {
    if (e.url === avoid) {
      fallback = e;
      continue;
    }
    const load = (e.inFlight + 1) / e.share;
    if (load < bestLoad || (load === bestLoad && best !== undefined && e.share > best.share)) {
      best = e;
      bestLoad = load;
    }
  }
  return best ?? fallback;
}
