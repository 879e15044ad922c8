import type { Backend, EndpointInfo } from '../../backends/backend.js';

/** What a server file or the command line says of one server, besides what the server says itself. */
export interface GivenEndpoint {
  /** Requests it runs at once; overrides what the server reports (llama-server `/props`). */
  readonly slots?: number;
  /** Models it serves; overrides the server's own list. */
  readonly models?: readonly string[];
  /** Multiplies its share of the requests. @default 1 */
  readonly weight?: number;
}

/** A server reached at start. */
export interface ReadyEndpoint extends GivenEndpoint {
  readonly backend: Backend;
  readonly info: EndpointInfo;
}

/** A server that did not answer at start (or was loading its model): probed until `open` succeeds. */
export interface LateEndpoint extends GivenEndpoint {
  readonly url: string;
  /** Reaches the server: detects its flavour if need be and reads its info. Rejects while it is down. */
  open(): Promise<{ readonly backend: Backend; readonly info: EndpointInfo }>;
  /** It answered 503 "Loading model" at start. @default false */
  readonly loading?: boolean;
}

export type StaticEndpoint = ReadyEndpoint | LateEndpoint;
