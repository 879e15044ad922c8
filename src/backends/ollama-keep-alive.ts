/** Nanoseconds per unit of a Go duration (`time.ParseDuration`), the syntax Ollama reads `keep_alive` with. */
const unitNs: Readonly<Record<string, number>> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** The longest Go duration (int64 nanoseconds, about 292 years): Ollama refuses a longer one with a 400. */
const maxGoDurationNs = 2 ** 63 - 1;

/** What `--keep-alive` accepts, for messages. */
export const keepAliveSyntax = "an Ollama keep_alive: a duration such as 30m, 1h30m or 90s, seconds such as 300, 0 to unload at once, or a negative value such as -1 to keep the model loaded";

/**
 * `--keep-alive` as Ollama's `keep_alive` field takes it (api/types.go, Duration.UnmarshalJSON): a
 * plain number is seconds and goes as a JSON number (a string "300" or "-1" would be parsed as a Go
 * duration, which wants a unit, and refused); anything else must be a Go duration ("0", or numbers
 * each with a unit: ns, us, ms, s, m, h, optionally signed). Returns the value to send, or
 * undefined for text Ollama would refuse with a 400 on every request.
 */
export function parseOllamaKeepAlive(text: string): string | number | undefined {
  const trimmed = text.trim();
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(trimmed)) {
    const seconds = Number(trimmed);
    return Number.isFinite(seconds) && Math.abs(seconds) * 1e9 <= maxGoDurationNs ? seconds : undefined;
  }
  const match = /^([-+]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)$/.exec(trimmed);
  if (match === null) return undefined;
  let ns = 0;
  for (const part of match[2]!.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g)) ns += Number(part[1]) * unitNs[part[2]!]!;
  return ns <= maxGoDurationNs ? trimmed : undefined;
}
