import { UsageError } from '../../errors.js';

/** One fallback: `from`'s prompts go to `to` when `from` cannot be served, and where it was given. */
export interface Fallback {
  readonly from: string;
  readonly to: string;
  /** Where it was given, for messages: `--fallback a=b`, `--servers f.json: entry 2 field "fallback"`. */
  readonly where: string;
}

/**
 * Reads `--fallback MODEL=OTHER` values. Each refusal names the value and the fix; the list as a
 * whole is checked by `checkFallbacks`.
 */
export function parseFallbackFlags(values: readonly string[]): Fallback[] {
  return values.map((value) => {
    const at = value.indexOf('=');
    const from = at === -1 ? '' : value.slice(0, at).trim();
    const to = at === -1 ? '' : value.slice(at + 1).trim();
    if (from === '' || to === '') {
      throw new UsageError(`--fallback ${JSON.stringify(value)}: expected MODEL=OTHER, the model whose prompts go elsewhere and the model that answers them (e.g. --fallback llama-70b=llama-8b)`);
    }
    return { from, to, where: `--fallback ${value}` };
  });
}

/**
 * Checks fallbacks from every source together: a model falls back to one other model, never to
 * itself, and a fallback model has no fallback of its own (no chains, so no cycles: when the
 * fallback cannot be served either, its prompts fail as they would without the flag).
 * Returns them keyed by the model that falls back.
 */
export function checkFallbacks(fallbacks: readonly Fallback[]): Map<string, Fallback> {
  const byFrom = new Map<string, Fallback>();
  for (const fallback of fallbacks) {
    if (fallback.from === fallback.to) {
      throw new UsageError(`${fallback.where}: model "${fallback.from}" falls back to itself; name another model that can answer its prompts`);
    }
    const earlier = byFrom.get(fallback.from);
    if (earlier !== undefined && earlier.to !== fallback.to) {
      throw new UsageError(`${fallback.where}: model "${fallback.from}" already falls back to "${earlier.to}" (${earlier.where}); give each model one fallback`);
    }
    byFrom.set(fallback.from, fallback);
  }
  for (const fallback of byFrom.values()) {
    const next = byFrom.get(fallback.to);
    if (next === undefined) continue;
    if (next.to === fallback.from) {
      throw new UsageError(`${fallback.where} and ${next.where}: "${fallback.from}" and "${fallback.to}" fall back to each other (a cycle); keep one direction`);
    }
    throw new UsageError(
      `${fallback.where}: "${fallback.to}" falls back to "${next.to}" itself (${next.where}); chains are not followed: let "${fallback.from}" fall back to "${next.to}" directly, or drop one`,
    );
  }
  return byFrom;
}

/**
 * Checks that every model named by a fallback is one the run can serve: `known` says whether a
 * name is, `where` names the places looked in for the message ("among --model a, b").
 */
export function checkFallbackModels(fallbacks: Iterable<Fallback>, known: (name: string) => boolean, where: string): void {
  for (const fallback of fallbacks) {
    for (const name of [fallback.from, fallback.to]) {
      if (!known(name)) throw new UsageError(`${fallback.where}: no model "${name}" ${where}; name a model the run serves`);
    }
  }
}
