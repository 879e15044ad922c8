import type { Backend, EndpointInfo, ServerType } from '../../backends/backend.js';
import { normaliseServerUrl, openBackend } from '../../backends/open-backend.js';
import { BackendError } from '../../errors.js';
import { formatDuration } from '../../reporting/format-duration.js';
import type { FleetListener } from '../../scheduler/fleet-listener.js';
import { composeListeners } from '../../scheduler/listener-set.js';
import { StaticRouter, type StaticEndpoint } from './static-router.js';
import { apiKeyFor, apiKeyFromVariable } from '../settings/api-key.js';
import { parseServersFile, type FleetServer } from './parse-servers-file.js';
import { backendOptionsOf, type BackendSettings } from './backend-options.js';

/** Where prompts go when they go to servers the user runs. */
export interface FleetSettings extends BackendSettings {
  /** `--server` URLs; none (and no `--servers` file) means managed servers. */
  readonly servers?: readonly string[];
  /** `--servers`: a JSON file listing servers (url, type, models, slots, weight, apiKeyEnv). */
  readonly serversFile?: string;
  /** `--server-type`: skip flavour detection. */
  readonly serverType?: ServerType;
  /** `--api-key-env`. @default OPENAI_API_KEY for non-local URLs */
  readonly apiKeyEnv?: string;
  /** `--max-down`: how long every server may be down before the run ends resumable, in ms. @default 3600000 */
  readonly maxDownMs?: number;
}

export interface FleetContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--workers`, when given: connection pools are sized for it. */
  readonly workersHint?: number;
  readonly notice?: (line: string) => void;
  /** Told when servers go down and come back (the progress bar shows a pause). */
  readonly fleetListener?: FleetListener;
}

/** The time of day of an epoch-ms instant, `HH:MM:SS` in local time: what a user reads on a log line. */
export function clockTime(at: number): string {
  return new Date(at).toTimeString().slice(0, 8);
}

/**
 * Opens the servers of `--server` and `--servers`: every one is asked at once for its flavour and
 * info. A server that does not answer (or is loading its model) does not hold the run back when
 * another answers: the run starts on those, and the router brings it in when it appears. Only when
 * none answers at all is the run refused, naming each URL. Anything else (a refused API key, a
 * server of unknown flavour) refuses the run: probing will not fix a configuration.
 */
export async function openFleet(settings: FleetSettings, context: FleetContext): Promise<StaticRouter> {
  const servers = fleetOf(settings);
  // Keys first: a missing variable is a usage error, found before any server is asked anything.
  const keyed = servers.map((server) => ({
    server,
    apiKey: server.apiKeyEnv !== undefined ? apiKeyFromVariable(server.apiKeyEnv, context.env, `the key of ${server.url}`) : apiKeyFor(server.url, settings.apiKeyEnv, context.env),
  }));
  const connect = async (server: FleetServer, apiKey: string | undefined): Promise<{ backend: Backend; info: EndpointInfo }> =>
    described(
      await openBackend({
        // Sockets open lazily, so a generous cap costs nothing; the scheduler bounds concurrency.
        ...backendOptionsOf(settings, context.workersHint ?? 64),
        url: server.url,
        type: server.type,
        apiKey,
      }),
    );
  const settled = await Promise.allSettled(keyed.map(({ server, apiKey }) => connect(server, apiKey)));
  const opened = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const closeOpened = (): Promise<unknown> => Promise.all(opened.map((o) => o.backend.close()));
  const fatal = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && notUpYet(s.reason) === undefined);
  if (fatal !== undefined) {
    await closeOpened();
    throw fatal.reason;
  }
  const late = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ i, kind: notUpYet(s.reason)!, error: s.reason as BackendError }] : []));
  if (opened.length === 0 && late.every((l) => l.kind === 'down')) {
    // Nothing answers at all: most likely a wrong URL or servers not started yet; say so now.
    if (late.length === 1) throw late[0]!.error;
    throw new BackendError('SERVER_UNREACHABLE', late[0]!.error.url, `no server answers: ${late.map((l) => l.error.message).join('; ')}`, { cause: late[0]!.error });
  }
  const endpoints: StaticEndpoint[] = settled.map((s, i) => {
    const { server, apiKey } = keyed[i]!;
    const given = { slots: server.slots, models: server.models, weight: server.weight };
    if (s.status === 'fulfilled') return { ...given, ...s.value };
    return { ...given, url: server.url, loading: notUpYet(s.reason) === 'loading', open: () => connect(server, apiKey) };
  });
  // With no server up, the router's pause notice says it (once, for all of them).
  for (const l of opened.length === 0 ? [] : late) {
    const url = keyed[l.i]!.server.url;
    context.notice?.(
      l.kind === 'loading'
        ? `server ${url} is loading its model; it takes requests once ready`
        : `server ${url} does not answer (${l.error.message}); starting on the other server(s), it takes requests when it answers`,
    );
  }
  return new StaticRouter(endpoints, { maxDownMs: settings.maxDownMs, listener: composeListeners(fleetNotices(context, settings.maxDownMs, keyed.map((k) => k.server.url)), context.fleetListener) });
}

/** `--server` URLs (with `--server-type`) then the `--servers` file's entries; one URL given both ways is the file's entry. */
function fleetOf(settings: FleetSettings): FleetServer[] {
  const fromFile = settings.serversFile === undefined ? [] : parseServersFile(settings.serversFile);
  const inFile = new Set(fromFile.map((server) => server.url));
  const fromFlags = (settings.servers ?? [])
    .map((url): FleetServer => ({ url: normaliseServerUrl(url), type: settings.serverType }))
    .filter((server, i, all) => !inFile.has(server.url) && all.findIndex((other) => other.url === server.url) === i);
  return [...fromFlags, ...fromFile.map((server) => ({ ...server, type: server.type ?? settings.serverType }))];
}

/** `backend` with what it says of itself; closed when it cannot say (its caller decides whether to wait). */
export async function described(backend: Backend): Promise<{ backend: Backend; info: EndpointInfo }> {
  try {
    return { backend, info: await backend.describe() };
  } catch (error) {
    await backend.close();
    throw error;
  }
}

/**
 * Whether a failure to reach a server at start is one that waiting may cure: `down` (nothing
 * listens, the connection broke, no answer in time) or `loading` (503 while a model loads);
 * undefined for anything else (a TLS failure, a refused key, an unknown flavour).
 */
export function notUpYet(error: unknown): 'down' | 'loading' | undefined {
  if (!(error instanceof BackendError)) return undefined;
  if (error.statusCode === 503) return 'loading';
  if (error.code !== 'SERVER_UNREACHABLE' && error.code !== 'CONNECTION_RESET' && error.code !== 'REQUEST_TIMEOUT') return undefined;
  // Detection marks its failures permanent; the transport's own verdict (its cause) tells a TLS failure from an outage.
  const transport = error.cause instanceof BackendError ? error.cause : error;
  return error.retryable || transport.retryable ? 'down' : undefined;
}

/**
 * One notice line per change of the fleet's health. The words follow the fleet's size ("server
 * URL", "every server") and each server's history: one that never answered "answers" or "is
 * ready", it does not "answer again".
 */
export function fleetNotices(context: FleetContext, maxDownMs: number | undefined, urls: readonly string[]): FleetListener {
  const notice = (line: string): void => context.notice?.(line);
  const maxDown = maxDownMs === undefined ? '' : ` (after --max-down ${maxDownMs / 1000} s it ends, resumable)`;
  const single = urls.length === 1;
  return {
    onAllDown: (since, loading) => {
      const who = single ? `server ${urls[0]} is` : 'every server is';
      notice(
        loading === true
          ? `${who} loading its model since ${clockTime(since)}: paused until ${single ? 'it is' : 'one is'} ready${maxDown}`
          : `${who} down since ${clockTime(since)}: paused, probing ${single ? 'it' : 'them'} with backoff; the run goes on by itself when ${single ? 'it' : 'one'} answers${maxDown}`,
      );
    },
    onRecovered: (downMs, back) => {
      const who = back === undefined ? 'a server' : `server ${back.url}`;
      const how = back?.loaded === true ? 'is ready (its model loaded)' : back?.again === false ? 'answers' : 'answers again';
      notice(`${who} ${how} after ${formatDuration(downMs)}${single ? '' : ' with every server down'}: resuming`);
    },
    onJoined: (url) => {
      notice(`server ${url} answers now: it takes requests`);
    },
    onEndpointDown: (url, loading, alone) => {
      // Announced only while another server is up: when none of them serves its models, requests
      // naming them wait, and those naming no model still go to the others.
      const where = alone === true ? 'requests for its models wait for it (no other server up serves them), the rest go to the other servers,' : 'its requests go to the other servers';
      notice(`server ${url} ${loading ? 'is loading its model' : 'is failing'}: ${where} until a probe finds it back`);
    },
    onEndpointUp: (url, downMs, back) => {
      const how = back?.loaded === true ? 'is ready (its model loaded)' : back?.again === false ? 'answers' : 'answers again';
      notice(`server ${url} ${how} after ${formatDuration(downMs)}: it takes requests`);
    },
  };
}
