/** What the daemon tells its metrics and its log as it serves. Every method is optional. */
export interface DaemonListener {
  /** A forwarded request ended: `outcome` is the HTTP status the model server gave, or why it got none. */
  onRequest?(model: string, outcome: string, durationMs: number): void;
  /** A model's server became ready after `loadMs`. */
  onLoad?(model: string, loadMs: number): void;
  /** A model's server was stopped: `idle` (unused for `--idle`) or `failed` (it could not start). */
  onUnload?(model: string, reason: 'idle' | 'failed'): void;
  /** A request was refused before reaching a model server: 401, 404, 503 while loading, … */
  onRefused?(status: number): void;
}
