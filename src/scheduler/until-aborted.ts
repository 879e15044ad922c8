/**
 * `promise`, or a rejection as soon as one of `signals` aborts: a stop must not wait for a model
 * that takes minutes to load, or for a server to come back. A lease that arrives after the stop is
 * released at once.
 */
export function untilAborted<T extends { release(): void }>(promise: Promise<T>, signals: readonly AbortSignal[]): Promise<T> {
  const aborted = signals.find((signal) => signal.aborted);
  if (aborted !== undefined) {
    void promise.then((late) => late.release(), () => undefined);
    return Promise.reject(aborted.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const detach = (): void => {
      for (const signal of signals) signal.removeEventListener('abort', onAbort);
    };
    function onAbort(this: AbortSignal): void {
      detach();
      void promise.then((late) => late.release(), () => undefined);
      reject(this.reason);
    }
    for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        detach();
        resolve(value);
      },
      (error: unknown) => {
        detach();
        reject(error);
      },
    );
  });
}
