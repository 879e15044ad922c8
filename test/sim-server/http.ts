import { request, type Dispatcher } from 'undici';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One HTTP request with the body read as text; a JSON body is serialised unless already a string. */
export async function send(
  url: string,
  options: { readonly method?: Dispatcher.HttpMethod; readonly body?: unknown; readonly headers?: Record<string, string>; readonly signal?: AbortSignal } = {},
): Promise<HttpAnswer> {
  const { method = options.body === undefined ? 'GET' : 'POST', body, headers, signal } = options;
  const res = await request(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export async function getJson(url: string, headers?: Record<string, string>): Promise<{ status: number; json: any }> {
  const answer = await send(url, { headers });
  return { status: answer.status, json: JSON.parse(answer.text) };
}

export async function postJson(url: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: HttpAnswer['headers'] }> {
  const answer = await send(url, { body, headers });
  return { status: answer.status, json: JSON.parse(answer.text), headers: answer.headers };
}

/** A chat body whose last user message is `text`. */
export function chat(text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: text }], ...extra };
}

/** The `data:` payloads of an SSE answer, `[DONE]` included. */
export function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice('data: '.length));
}
