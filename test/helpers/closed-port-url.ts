import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A URL on which nothing listens: a port on 127.0.0.1 that was bound and closed a moment ago. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
