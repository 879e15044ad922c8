import { BackendError } from '../../src/errors.js';

/** The BackendError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function backendFailure(promise: Promise<unknown>): Promise<BackendError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    if (error instanceof BackendError) return error;
    throw new Error(`expected a BackendError, got ${String(error)}`, { cause: error });
  }
  throw new Error(`expected a BackendError, but the promise resolved with ${JSON.stringify(outcome)?.slice(0, 200)}`);
}
