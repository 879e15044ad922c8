import type http from 'node:http';
import { readRequestBody, sendJson } from '../util/http-json.js';


/** Largest request body the daemon reads: prompts, not uploads. */
const maxBodyBytes = 32 * 1024 * 1024;

/** Answers an error in OpenAI's shape, which every OpenAI client and batch's own backends read. */
export function sendError(response: http.ServerResponse, status: number, type: string, message: string, code: string | number = status): void {
  sendJson(response, status, { error: { message, type, code } });
}

/**
 * Reads a JSON object body; answers 400 or 413 itself and resolves undefined when it is none.
 * With `raw`, resolves the bytes too, forwarded as they came.
 */
export function readJsonBody(request: http.IncomingMessage, response: http.ServerResponse): Promise<Record<string, unknown> | undefined>;
export function readJsonBody(request: http.IncomingMessage, response: http.ServerResponse, options: { readonly raw: true }): Promise<{ readonly json: Record<string, unknown>; readonly raw: Buffer } | undefined>;
export async function readJsonBody(request: http.IncomingMessage, response: http.ServerResponse, options?: { readonly raw: true }): Promise<unknown> {
  let raw: Buffer | undefined;
  try {
    raw = await readRequestBody(request, maxBodyBytes);
  } catch {
    // The client went away mid-body: nothing to answer.
    return undefined;
  }
  if (raw === undefined) {
    sendError(response, 413, 'invalid_request_error', `the request body is over ${maxBodyBytes / 1024 / 1024} MiB`);
    return undefined;
  }
  let json: unknown;
  try {
    json = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
  } catch (error) {
    sendError(response, 400, 'invalid_request_error', `the request body is not JSON: ${(error as Error).message}`);
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    sendError(response, 400, 'invalid_request_error', 'expected the request body to be a JSON object');
    return undefined;
  }
  return options?.raw === true ? { json, raw } : json;
}
