import { createServer } from 'node:net';

/**
 * A port that was free a moment ago on `host`: bind to port 0, read what the
 * kernel chose, close. Another process may take it before the function binds
 * it; the function then fails to start (or never becomes ready) and the
 * runtime restarts it on a fresh port.
 */
export function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error(`no port assigned on ${host}`))));
    });
  });
}
