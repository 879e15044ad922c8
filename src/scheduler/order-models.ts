/**
 * Models by the highest priority waiting for them (a source that gives none: all equal), and
 * among equals resident models first (no load needed), then the rest in the source's order.
 */
export function orderModels(
  models: ReadonlyArray<{ readonly model: string | null; readonly pending: number; readonly priority?: number }>,
  resident: readonly string[],
): Array<string | null> {
  const waiting = models.filter((m) => m.pending > 0);
  // Resident models in the order given, before the others.
  const warm = (m: { readonly model: string | null }): number => {
    const at = m.model === null ? -1 : resident.indexOf(m.model);
    return at === -1 ? resident.length : at;
  };
  // Array.prototype.sort is stable: equals keep the source's order.
  return [...waiting].sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0) || warm(a) - warm(b)).map((m) => m.model);
}
