import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// HTTP servers the tests start on a free loopback port, and their shutdown.

/** Listens on 127.0.0.1 at a free port; `base` is its http URL. */
export function listenLocal(app: { listen(port: number, host: string, callback: () => void): Server }): Promise<{ server: Server; base: string }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
    server.once('error', reject);
  });
}

/** Closes an HTTP server and every connection it still has (keep-alive ones included). */
export function closeServer(server: { close(callback: () => void): unknown; closeAllConnections(): void }): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
