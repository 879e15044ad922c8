import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on 127.0.0.1 (listen on 0, read it, close). Another process
 * can take it before the server binds it, so callers retry the spawn with a new port when the
 * server reports EADDRINUSE.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close((error) => {
        if (error) reject(error);
        else if (port === 0) reject(new Error(`the port probe on 127.0.0.1 returned no port (address ${String(address)})`));
        else resolve(port);
      });
    });
  });
}
