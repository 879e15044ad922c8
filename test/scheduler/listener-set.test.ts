import { describe, expect, it } from 'vitest';
import { BackendError } from '../../src/errors.js';
import type { PromptItem } from '../../src/prompts/prompt-item.js';
import { composeListeners, ListenerSet } from '../../src/scheduler/listener-set.js';
import type { SchedulerListener } from '../../src/scheduler/scheduler-listener.js';
import type { ItemOutcome } from '../../src/store/item-outcome.js';

const item: PromptItem = { customId: 'a', index: 0, source: 'in.jsonl:1', endpoint: '/v1/chat/completions', body: { messages: [] } };
const outcome: ItemOutcome = { customId: 'a', status: 'done', attempts: 1, finishedAt: 0 };
const error = new BackendError('SERVER_ERROR', 'http://s', '500', { retryable: true });

/** Every event of `SchedulerListener`, fired once with its arguments. */
function fireAll(listener: Required<SchedulerListener>): void {
  listener.onDispatch(item);
  listener.onRequestStart(item, 'http://s', 2);
  listener.onRequestEnd(item, 'http://s');
  listener.onOutcome(outcome);
  listener.onRetry(item, error, 250);
  listener.onAllDown(1000);
  listener.onRecovered(2000);
  listener.onJoined('http://t');
  listener.onEndpointDown('http://s', true);
  listener.onEndpointUp('http://s', 3000);
}

/** A listener that writes down every event it hears, as `name:first argument`. */
function recorder(name: string, heard: string[]): Required<SchedulerListener> {
  return {
    onDispatch: (i) => heard.push(`${name} dispatch ${i.customId}`),
    onRequestStart: (i, url, attempt) => heard.push(`${name} start ${i.customId} ${url} ${attempt}`),
    onRequestEnd: (i, url) => heard.push(`${name} end ${i.customId} ${url}`),
    onOutcome: (o) => heard.push(`${name} outcome ${o.customId} ${o.status}`),
    onRetry: (i, e, delayMs) => heard.push(`${name} retry ${i.customId} ${e.code} ${delayMs}`),
    onAllDown: (since) => heard.push(`${name} all-down ${since}`),
    onRecovered: (downMs) => heard.push(`${name} recovered ${downMs}`),
    onJoined: (url) => heard.push(`${name} joined ${url}`),
    onEndpointDown: (url, loading) => heard.push(`${name} down ${url} ${loading}`),
    onEndpointUp: (url, downMs) => heard.push(`${name} up ${url} ${downMs}`),
  };
}

describe('ListenerSet', () => {
  it('hands every event, scheduler and fleet alike, to each listener in the order they joined', () => {
    const heard: string[] = [];
    fireAll(composeListeners(recorder('a', heard), undefined, recorder('b', heard)));
    const events = ['dispatch a', 'start a http://s 2', 'end a http://s', 'outcome a done', 'retry a SERVER_ERROR 250', 'all-down 1000', 'recovered 2000', 'joined http://t', 'down http://s true', 'up http://s 3000'];
    expect(heard).toEqual(events.flatMap((event) => [`a ${event}`, `b ${event}`]));
  });

  it('passes an event on to a listener that has only some of the methods, and calls a class listener as a method', () => {
    class Counter implements SchedulerListener {
      #outcomes = 0;
      onOutcome(): void {
        this.#outcomes += 1;
      }
      get outcomes(): number {
        return this.#outcomes;
      }
    }
    const counter = new Counter();
    const set = new ListenerSet(counter, { onAllDown: () => undefined });
    fireAll(set);
    fireAll(set);
    expect(counter.outcomes).toBe(2);
  });

  it('tells a listener added later the events from then on, and a deleted one nothing more', () => {
    const heard: string[] = [];
    const set = new ListenerSet();
    set.onDispatch(item);
    const late = recorder('late', heard);
    set.add(late);
    set.onJoined('http://t');
    set.delete(late);
    set.onJoined('http://u');
    expect(heard).toEqual(['late joined http://t']);
  });

  it('takes a listener once, and never itself (no event loops round the set)', () => {
    const heard: string[] = [];
    const one = recorder('one', heard);
    const set = new ListenerSet(one, one);
    set.add(one);
    set.add(set);
    set.add(undefined);
    set.onRecovered(5);
    expect(heard).toEqual(['one recovered 5']);
  });

  it('nests: a set inside a set hears what the outer one hears', () => {
    const heard: string[] = [];
    const inner = composeListeners(recorder('inner', heard));
    const outer = composeListeners(inner, recorder('outer', heard));
    outer.onEndpointDown('http://s', false);
    expect(heard).toEqual(['inner down http://s false', 'outer down http://s false']);
  });
});
