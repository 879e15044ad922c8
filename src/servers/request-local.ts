import { request } from 'node:http';

/** An answer from a local server, body as text. */
export interface LocalHttpResponse {
  readonly statusCode: number;
  readonly body: string;
}

/**
 * One HTTP request to a server on this machine, without keep-alive (readiness probes must not
 * leave sockets behind). Rejects on connection errors and after `timeoutMs`.
 */
export function requestLocal(
  url: string,
  options: { readonly method?: 'GET' | 'POST'; readonly json?: unknown; readonly timeoutMs: number; readonly headers?: Readonly<Record<string, string>> },
): Promise<LocalHttpResponse> {
  const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        agent: false,
        headers: { ...options.headers, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs} ms`)), Math.max(1, options.timeoutMs));
    function fail(error: Error): void {
      clearTimeout(timer);
      reject(error);
    }
    req.on('error', fail);
    req.end(payload);
  });
}
