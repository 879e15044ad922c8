import type { AppError } from '../errors.js';
import type { PromptItem } from '../prompts/prompt-item.js';
import type { ItemOutcome } from '../store/item-outcome.js';
import type { EndpointReturn } from './fleet-listener.js';
import type { SchedulerListener } from './scheduler-listener.js';

/**
 * Several listeners behind one: each event goes to every listener, in the order they were added.
 * A run gives one set to its router (fleet events) and to its scheduler, and every subscriber
 * (progress, telemetry, statistics, notices) joins it instead of wrapping the one before it.
 * `Required<SchedulerListener>`: an event added to the interface and not passed on here does not compile.
 */
export class ListenerSet implements Required<SchedulerListener> {
  readonly #listeners = new Set<SchedulerListener>();

  constructor(...listeners: ReadonlyArray<SchedulerListener | undefined>) {
    for (const listener of listeners) this.add(listener);
  }

  /** Adds `listener` (none: nothing); it hears every event from now on. */
  add(listener: SchedulerListener | undefined): void {
    if (listener !== undefined && listener !== this) this.#listeners.add(listener);
  }

  /** Removes `listener`: it hears no further event. */
  delete(listener: SchedulerListener): void {
    this.#listeners.delete(listener);
  }

  onDispatch(item: PromptItem): void {
    for (const listener of this.#listeners) listener.onDispatch?.(item);
  }

  onRequestStart(item: PromptItem, serverUrl: string, attempt: number): void {
    for (const listener of this.#listeners) listener.onRequestStart?.(item, serverUrl, attempt);
  }

  onRequestEnd(item: PromptItem, serverUrl: string): void {
    for (const listener of this.#listeners) listener.onRequestEnd?.(item, serverUrl);
  }

  onOutcome(outcome: ItemOutcome): void {
    for (const listener of this.#listeners) listener.onOutcome?.(outcome);
  }

  onRetry(item: PromptItem, error: AppError, delayMs: number): void {
    for (const listener of this.#listeners) listener.onRetry?.(item, error, delayMs);
  }

  onAllDown(since: number, loading?: boolean): void {
    for (const listener of this.#listeners) listener.onAllDown?.(since, loading);
  }

  onRecovered(downMs: number, back?: EndpointReturn): void {
    for (const listener of this.#listeners) listener.onRecovered?.(downMs, back);
  }

  onJoined(url: string): void {
    for (const listener of this.#listeners) listener.onJoined?.(url);
  }

  onEndpointDown(url: string, loading: boolean, alone?: boolean): void {
    for (const listener of this.#listeners) listener.onEndpointDown?.(url, loading, alone);
  }

  onEndpointUp(url: string, downMs: number, back?: EndpointReturn): void {
    for (const listener of this.#listeners) listener.onEndpointUp?.(url, downMs, back);
  }
}

/** One listener that tells each of `listeners` (those undefined left out) every event, in order. */
export function composeListeners(...listeners: ReadonlyArray<SchedulerListener | undefined>): ListenerSet {
  return new ListenerSet(...listeners);
}
