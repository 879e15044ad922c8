/*
 * Why a generation did not answer: each maps to an HTTP status in embedded-routes.ts.
 */

/** Thrown when a request is stopped (client gone, server closing) before it finished: its text is incomplete. */
export class GenerationAbortedError extends Error {
  constructor() {
    super('generation was stopped before it finished');
    this.name = 'GenerationAbortedError';
  }
}

/** Thrown for a request the model cannot run (prompt longer than the context); answered with 400. */
export class GenerationRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerationRequestError';
  }
}

/** Thrown for a JSON Schema the grammar converter cannot take; answered with 400. */
export class GenerationSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerationSchemaError';
  }
}
