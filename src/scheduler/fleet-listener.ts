/** What a router over a fleet of servers reports about its health (the progress bar and notices listen). */
export interface FleetListener {
  /** Every server is down (or loading its model) since `since` (epoch ms): the run pauses. */
  onAllDown?(since: number): void;
  /** A server answers again after every one was down for `downMs`: the run goes on. */
  onRecovered?(downMs: number): void;
  /** A server that did not answer when the run started answers now and takes requests. */
  onJoined?(url: string): void;
  /** A server stopped taking requests: it failed (`loading`: it answered 503 while loading a model). */
  onEndpointDown?(url: string, loading: boolean): void;
  /** A server that was down answered a request again, after `downMs`. */
  onEndpointUp?(url: string, downMs: number): void;
}
