import type { AppError } from '../errors.js';
import type { PromptItem } from '../prompts/prompt-item.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import type { FleetListener } from './fleet-listener.js';

/**
 * What a run reports while it goes: the scheduler's events, and the router's fleet events on the
 * same channel. Every method is optional; `ListenerSet` hands each event to several listeners.
 */
export interface SchedulerListener extends FleetListener {
  /** A prompt's first request is about to go out (once per prompt: what the summary counts as sent). */
  onDispatch?(item: PromptItem): void;
  /**
   * A request goes on the wire to the server at `serverUrl`: `attempt` 1 for the prompt's first,
   * more for each one sent again. `onRequestEnd` follows it, whatever its end.
   */
  onRequestStart?(item: PromptItem, serverUrl: string, attempt: number): void;
  onRequestEnd?(item: PromptItem, serverUrl: string): void;
  onOutcome?(outcome: ItemOutcome): void;
  /**
   * `item` is sent again after `error`, in `delayMs`. When a request of it failed, this comes right
   * after that request's `onRequestEnd`, with no event between (RunMetrics counts the failed
   * request on its server by that); when no server could be had, no request of it just ended.
   */
  onRetry?(item: PromptItem, error: AppError, delayMs: number): void;
}
