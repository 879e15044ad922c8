/** How a server that was down (or loading its model) came back. */
export interface EndpointReturn {
  readonly url: string;
  /** It had answered a request before it went down; false: this is its first answer (it was loading, or never reached). */
  readonly again: boolean;
  /** It was loading its model (503) until now. */
  readonly loaded: boolean;
}

/** What a router over a fleet of servers reports about its health (the progress bar and notices listen). */
export interface FleetListener {
  /** Every server is down or loading its model since `since` (epoch ms): the run pauses. `loading`: every one is loading (none failed). */
  onAllDown?(since: number, loading?: boolean): void;
  /** A server answers after every one was down for `downMs`: the run goes on. `back`: which one, and how. */
  onRecovered?(downMs: number, back?: EndpointReturn): void;
  /** A server that did not answer when the run started answers now and takes requests. */
  onJoined?(url: string): void;
  /**
   * A server stopped taking requests: it failed (`loading`: it answered 503 while loading a model).
   * `alone`: no other server that serves its models takes requests now, so its requests wait for it.
   */
  onEndpointDown?(url: string, loading: boolean, alone?: boolean): void;
  /** A server announced down (onEndpointDown) takes requests again, after `downMs`. */
  onEndpointUp?(url: string, downMs: number, back?: EndpointReturn): void;
}
