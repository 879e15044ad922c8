import { hashText } from './sim-answer.js';

/** Ollama's default `keep_alive`: five minutes. */
export const defaultKeepAliveMs = 5 * 60_000;

/**
 * Reads an Ollama `keep_alive` (a duration string such as "5m", "30s", "1h30m", or seconds as a
 * number) into milliseconds; negative means forever. Returns the default for anything unreadable,
 * as Ollama falls back to its default.
 */
export function parseKeepAliveMs(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value < 0 ? -1 : value * 1000;
  if (typeof value !== 'string' || value === '') return defaultKeepAliveMs;
  if (/^-?\d+(\.\d+)?$/.test(value)) return parseKeepAliveMs(Number(value));
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const negative = value.startsWith('-');
  let total = 0;
  let rest = negative ? value.slice(1) : value;
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (match === null) return defaultKeepAliveMs;
    total += Number(match[1]) * units[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return negative ? -1 : total;
}

/** A stable, plausible model size in bytes, derived from the name. */
export function modelSizeBytes(model: string): number {
  return 100_000_000 + (Number.parseInt(hashText(model), 16) % 4000) * 1_000_000;
}

/**
 * Which models an Ollama server holds in memory, and until when. A model becomes resident on
 * first use (after `loadMs`), stays `keep_alive` after its last request, and `keep_alive: 0`
 * unloads it at once, as Ollama's scheduler does.
 */
export class ModelResidency {
  readonly #loadMs: number;
  /** model → epoch ms when it unloads (Infinity: never). */
  readonly #expiresAt = new Map<string, number>();
  readonly #loading = new Map<string, Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(loadMs: number) {
    this.#loadMs = loadMs;
  }

  isResident(model: string): boolean {
    const expiresAt = this.#expiresAt.get(model);
    if (expiresAt === undefined) return false;
    if (expiresAt > Date.now()) return true;
    this.#expiresAt.delete(model);
    return false;
  }

  /** Whether a load of `model` is under way (a request arriving now shares it). */
  isLoading(model: string): boolean {
    return this.#loading.has(model);
  }

  /** Loads a model that is not resident; concurrent callers share one load. */
  load(model: string): Promise<void> {
    if (this.#loadMs === 0) {
      this.#expiresAt.set(model, Date.now() + defaultKeepAliveMs);
      return Promise.resolve();
    }
    let loading = this.#loading.get(model);
    if (loading === undefined) {
      loading = new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.#loading.delete(model);
          this.#expiresAt.set(model, Date.now() + defaultKeepAliveMs);
          resolve();
        }, this.#loadMs);
        this.#timers.add(timer);
      });
      this.#loading.set(model, loading);
    }
    return loading;
  }

  /** Restarts the model's keep-alive after a request. */
  touch(model: string, keepAliveMs: number): void {
    if (keepAliveMs === 0) this.#expiresAt.delete(model);
    else this.#expiresAt.set(model, keepAliveMs < 0 ? Number.POSITIVE_INFINITY : Date.now() + keepAliveMs);
  }

  /** Resident models with their unload time. */
  list(): Array<[model: string, expiresAt: number]> {
    return [...this.#expiresAt.keys()].filter((model) => this.isResident(model)).map((model) => [model, this.#expiresAt.get(model)!]);
  }

  /** Cancels loads in progress, so that a closed server leaves no timer behind. */
  dispose(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
