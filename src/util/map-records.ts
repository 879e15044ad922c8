/**
 * `source` with each value replaced by `map(value)`, and `onEnd` called once when it ends. A thin
 * iterator rather than an async generator: a run reads every prompt through several such layers,
 * and each async generator costs a promise and a queued resumption per value (issue 23's profile).
 * Stopping early (`return`) is passed to `source`; an error thrown by `map` rejects that `next`.
 */
export function mapRecords<T, U>(source: AsyncIterable<T>, map: (value: T) => U, onEnd?: () => void): AsyncIterable<U> {
  return {
    [Symbol.asyncIterator]: () => {
      const inner = source[Symbol.asyncIterator]();
      let ended = false;
      return {
        next: async (): Promise<IteratorResult<U>> => {
          const result = await inner.next();
          if (result.done !== true) return { done: false, value: map(result.value) };
          if (!ended) {
            ended = true;
            onEnd?.();
          }
          return { done: true, value: undefined };
        },
        return: async (value?: unknown): Promise<IteratorResult<U>> => {
          await inner.return?.(value);
          return { done: true, value: undefined };
        },
      };
    },
  };
}
