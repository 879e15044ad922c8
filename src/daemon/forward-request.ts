import http from 'node:http';

/** Where a request goes: a model server's address and key. */
export interface ForwardTarget {
  readonly url: string;
  readonly apiKey: string;
}

/** How a forwarded request ended, for the daemon's counts. */
export type ForwardOutcome = { readonly status: number } | { readonly status: 'client-gone' } | { readonly status: 'server-failed'; readonly message: string };

/** Answer headers passed back to the client as the model server sent them. */
const passedHeaders = ['content-type', 'cache-control', 'x-request-id'];

/**
 * Sends `body` to `path` on the model server and streams its answer to `response` as it comes (a
 * streamed answer's events reach the client one by one). The client's own key is replaced by the
 * server's. A client that goes away aborts the request to the server, freeing its slot.
 */
export function forwardRequest(agent: http.Agent, target: ForwardTarget, path: string, body: Buffer, request: http.IncomingMessage, response: http.ServerResponse): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    const url = new URL(path, target.url);
    let settled = false;
    const settle = (outcome: ForwardOutcome): void => {
      if (settled) return;
      settled = true;
      response.off('close', onClientClose);
      resolve(outcome);
    };
    const upstream = http.request(url, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': body.length,
        accept: request.headers.accept ?? 'application/json',
        authorization: `Bearer ${target.apiKey}`,
      },
    });
    const onClientClose = (): void => {
      if (!response.writableFinished) {
        upstream.destroy();
        settle({ status: 'client-gone' });
      }
    };
    response.on('close', onClientClose);
    upstream.on('response', (answer) => {
      const headers: http.OutgoingHttpHeaders = {};
      for (const name of passedHeaders) if (answer.headers[name] !== undefined) headers[name] = answer.headers[name];
      response.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(response);
      answer.on('end', () => settle({ status: answer.statusCode ?? 502 }));
      answer.on('error', (error) => {
        response.destroy(error);
        settle({ status: 'server-failed', message: error.message });
      });
    });
    upstream.on('error', (error) => {
      if (settled) return;
      if (!response.headersSent) {
        // The model server went away (it crashed, or was stopped): a 502 the client retries.
        const text = JSON.stringify({ error: { message: `the model server failed: ${error.message}`, type: 'server_error', code: 502 } });
        response.writeHead(502, { 'content-type': 'application/json' }).end(text);
      } else {
        response.destroy(error);
      }
      settle({ status: 'server-failed', message: error.message });
    });
    upstream.end(body);
  });
}
