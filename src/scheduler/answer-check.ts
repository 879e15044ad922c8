import type { CompletionResult } from '../backends/backend.js';
import { validateAnswer, type CheckedAnswer } from '../backends/validate-answer.js';
import { BackendError } from '../errors.js';
import { checkWholeNumber } from '../util/check-option.js';
import { defaults } from '../defaults.js';

/** What the scheduler asks of each answer before it counts as done. */
export interface AnswerCheck {
  /** Times an invalid answer is sent again, counted apart from the transport retries of `RetryPolicy`. */
  readonly retries: number;
  /**
   * The parsed answer when the request asks for a JSON shape, undefined when it asks for none.
   * Throws a `BackendError` `ANSWER_INVALID` that keeps the server's answer.
   */
  check(requestBody: Readonly<Record<string, unknown>>, result: CompletionResult, url: string): CheckedAnswer | undefined;
}

export interface JsonAnswerCheckOptions {
  /** Invalid answers sent again (`--json-retries`). @default 2 */
  readonly retries?: number;
}

/**
 * Answers checked against their request's `response_format` (JSON Schema draft 2020-12, or any
 * JSON for `json_object`): an answer that fails is a failed attempt of its own kind, so a model
 * that rambles is asked again without using up the retries meant for a flaky network.
 */
export function jsonAnswerCheck(options: JsonAnswerCheckOptions = {}): AnswerCheck {
  const retries = checkWholeNumber('retries', options.retries ?? defaults.jsonRetries, 0);
  return {
    retries,
    check(requestBody, result, url) {
      try {
        return validateAnswer(requestBody, result.body);
      } catch (error) {
        const response = { statusCode: result.statusCode, requestId: result.requestId, body: result.body };
        const fix = `; each prompt is asked up to ${retries + 1} times (--json-retries ${retries}): make the prompt ask for this shape, or use a server that enforces it`;
        throw new BackendError('ANSWER_INVALID', url, `${url}: ${(error as Error).message}${fix}`, { response, cause: error });
      }
    },
  };
}
