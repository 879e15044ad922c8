import { readFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import type { ServerType } from '../../backends/backend.js';
import { normaliseServerUrl } from '../../backends/open-backend.js';
import type { Fallback } from './fallback-map.js';

/** One server of a `--servers` file. */
export interface FleetServer {
  /** Base URL, normalised as `--server` is. */
  readonly url: string;
  /** Its flavour; given, no detection happens (and a server down at start can still join later). */
  readonly type?: ServerType;
  /** Models it serves (as requests name them); overrides the server's own list. */
  readonly models?: readonly string[];
  /** Requests it runs at once; overrides what it reports (llama-server `/props`). */
  readonly slots?: number;
  /** Multiplies its share of the requests. @default 1 */
  readonly weight?: number;
  /** Environment variable that holds its API key (never the key itself). */
  readonly apiKeyEnv?: string;
  /**
   * The model that answers the prompts of this server's `models` when they cannot be served: every
   * server of one of them down longer than `--fallback-after` (as `--fallback MODEL=OTHER` for each).
   */
  readonly fallback?: string;
}

const serverTypes: readonly ServerType[] = ['openai', 'llama-server', 'ollama'];
const fields = new Set(['url', 'type', 'models', 'slots', 'weight', 'apiKeyEnv', 'fallback']);
const example = '[{"url": "http://10.0.0.5:8080", "type": "llama-server", "slots": 8}]';

/**
 * Reads and checks a `--servers` file: a JSON array of servers, each `{url, type?, models?, slots?,
 * weight?, apiKeyEnv?, fallback?}`. Every refusal names the file, the entry and the field, the value seen and
 * the fix, before anything is sent.
 */
export function parseServersFile(file: string): FleetServer[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--servers ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the path`, error);
  }
  return parseServers(text, file);
}

/** Checks the text of a servers file; `file` is named in every message. */
export function parseServers(text: string, file: string): FleetServer[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--servers ${file}: not valid JSON (${(error as Error).message}); expected an array such as ${example}`, error);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw new UsageError(`--servers ${file}: expected a non-empty JSON array of servers such as ${example}, got ${shortJson(parsed)}`);
  }
  const servers = parsed.map((entry, index) => parseEntry(entry, `--servers ${file}: entry ${index + 1} (servers[${index}])`));
  const seen = new Map<string, number>();
  servers.forEach((server, index) => {
    const first = seen.get(server.url);
    if (first !== undefined) {
      throw new UsageError(`--servers ${file}: entry ${index + 1} names ${server.url} again (entry ${first + 1} has it); list each server once and give it more slots or weight instead`);
    }
    seen.set(server.url, index);
  });
  return servers;
}

function parseEntry(entry: unknown, where: string): FleetServer {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new UsageError(`${where}: expected an object such as {"url": "http://10.0.0.5:8080"}, got ${shortJson(entry)}`);
  }
  const record = entry as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!fields.has(key)) throw new UsageError(`${where}: unknown field "${key}"; the fields are ${[...fields].join(', ')}`);
  }
  const { url, type, models, slots, weight, apiKeyEnv, fallback } = record;
  if (typeof url !== 'string' || url === '') throw new UsageError(`${where} field "url": expected the server's base URL such as "http://10.0.0.5:8080", got ${shortJson(url)}`);
  let normalised: string;
  try {
    normalised = normaliseServerUrl(url);
  } catch (error) {
    throw new UsageError(`${where} field "url": ${(error as Error).message.replace(/^--server: /, '')}`, error);
  }
  if (type !== undefined && !serverTypes.includes(type as ServerType)) {
    throw new UsageError(`${where} field "type": expected one of ${serverTypes.join(', ')} (or no "type", to detect it), got ${shortJson(type)}`);
  }
  if (models !== undefined && (!Array.isArray(models) || models.length === 0 || !models.every((m) => typeof m === 'string' && m !== ''))) {
    throw new UsageError(`${where} field "models": expected a non-empty array of model names such as ["llama-3-8b"], got ${shortJson(models)}`);
  }
  if (slots !== undefined && !(typeof slots === 'number' && Number.isSafeInteger(slots) && slots >= 1)) {
    throw new UsageError(`${where} field "slots": expected a whole number >= 1 (the requests it runs at once), got ${shortJson(slots)}`);
  }
  if (weight !== undefined && !(typeof weight === 'number' && Number.isFinite(weight) && weight > 0)) {
    throw new UsageError(`${where} field "weight": expected a number > 0 (1 is an even share per slot), got ${shortJson(weight)}`);
  }
  if (apiKeyEnv !== undefined && !(typeof apiKeyEnv === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv))) {
    throw new UsageError(`${where} field "apiKeyEnv": expected the name of an environment variable such as "VLLM_KEY" (never the key itself), got a ${typeof apiKeyEnv === 'string' ? 'string that is no variable name' : shortJson(apiKeyEnv)}`);
  }
  if (fallback !== undefined && !(typeof fallback === 'string' && fallback !== '')) {
    throw new UsageError(`${where} field "fallback": expected the name of the model that answers this server's models when they cannot be served, such as "llama-3-8b", got ${shortJson(fallback)}`);
  }
  if (fallback !== undefined && models === undefined) {
    throw new UsageError(`${where} field "fallback": says whose prompts go to "${fallback as string}" only with "models"; add "models": [...] naming the models this server serves`);
  }
  return {
    url: normalised,
    type: type as ServerType | undefined,
    models: models as string[] | undefined,
    slots: slots as number | undefined,
    weight: weight as number | undefined,
    apiKeyEnv: apiKeyEnv as string | undefined,
    fallback: fallback as string | undefined,
  };
}

/** The fallbacks of a servers file's entries: each of an entry's `models` falls back to its `fallback`. */
export function fallbacksOfServers(servers: readonly FleetServer[], file: string): Fallback[] {
  return servers.flatMap((server, index) =>
    server.fallback === undefined
      ? []
      : (server.models ?? []).map((from) => ({ from, to: server.fallback!, where: `--servers ${file}: entry ${index + 1} (servers[${index}]) field "fallback"` })),
  );
}

/** A value for a message, cut short. */
function shortJson(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
