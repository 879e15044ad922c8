/** Resident models first (no load needed), then the rest in the source's order. */
export function orderModels(
  models: ReadonlyArray<{ readonly model: string | null; readonly pending: number }>,
  resident: readonly string[],
): Array<string | null> {
  const names = models.filter((m) => m.pending > 0).map((m) => m.model);
  const warm = resident.filter((r) => names.includes(r));
  return [...warm, ...names.filter((n) => n === null || !warm.includes(n))];
}
