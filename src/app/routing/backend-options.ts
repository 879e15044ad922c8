import type { OpenBackendOptions } from '../../backends/open-backend.js';

/** The run settings every backend takes, whatever the target: a fleet's servers or managed ones. */
export interface BackendSettings {
  /** `--keep-alive`: Ollama's keep_alive. @default the backend's own ('30m') */
  readonly keepAlive?: string;
  /** `--stream`: stream answers to record time to first token. @default false */
  readonly stream?: boolean;
  /** `--stall-timeout`: longest silence of a sent request, in ms. @default none */
  readonly stallTimeoutMs?: number;
}

/** What a backend is made with, less where it is (`url`, `type`, `apiKey`). */
export type BackendOptions = Omit<OpenBackendOptions, 'url' | 'type' | 'apiKey'>;

/**
 * The one place a backend's options are built from the run settings: the servers of `--server` and
 * `--servers`, managed llama-server and the embedded server all get them from here, so that a
 * setting such as `--stall-timeout` or `--stream` reaches every kind of server.
 */
export function backendOptionsOf(settings: BackendSettings, connections: number): BackendOptions {
  return {
    connections,
    keepAlive: settings.keepAlive,
    stream: settings.stream,
    // undici counts whole milliseconds.
    stallTimeoutMs: settings.stallTimeoutMs === undefined ? undefined : Math.max(1, Math.ceil(settings.stallTimeoutMs)),
  };
}
