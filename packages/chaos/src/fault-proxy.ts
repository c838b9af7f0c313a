import net from 'node:net';

export type ProxyMode = 'pass' | 'reset' | 'delay' | 'refuse';

export interface FaultProxy {
  url: string;
  port: number;
  mode(): ProxyMode;
  /** pass: forward; reset: connections are reset (at once or after some bytes); delay: every chunk waits; refuse: nothing listens */
  setMode(mode: ProxyMode): Promise<void>;
  /** connections reset, delayed, refused so far */
  stats(): { connections: number; resets: number; delayed: number; refusedPeriods: number };
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `targetPort` that injects network faults: TCP resets
 * (RST, so the client reads ECONNRESET) at random points of a connection, delays, and refused
 * connections (the listener is closed, then reopened on the same port). `bytesPerSecond` caps each
 * connection's response rate (a slow link, so faults land while blobs are in flight).
 */
export async function startFaultProxy(targetPort: number, random: () => number, options: { bytesPerSecond?: number } = {}): Promise<FaultProxy> {
  let current: ProxyMode = 'pass';
  const sockets = new Set<net.Socket>();
  const stats = { connections: 0, resets: 0, delayed: 0, refusedPeriods: 0 };
  const handle = (client: net.Socket) => {
    stats.connections += 1;
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    // a reset connection dies after a random number of response bytes (0 = before any)
    const resetAfter = current === 'reset' ? Math.floor(random() * 3 * 1024 * 1024) : Infinity;
    let sent = 0;
    const delayMs = current === 'delay' ? 100 + Math.floor(random() * 900) : 0;
    const rate = options.bytesPerSecond;
    if (delayMs > 0) stats.delayed += 1;
    client.on('data', (chunk: Buffer) => {
      if (current === 'reset' && random() < 0.2) {
        stats.resets += 1;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (sent > resetAfter) {
        stats.resets += 1;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      const wait = delayMs + (rate ? (chunk.length * 1000) / rate : 0);
      if (wait >= 1) {
        upstream.pause();
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
          upstream.resume();
        }, wait);
      } else if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
    upstream.on('end', () => client.end());
  };
  let server = net.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const listen = async () => {
    server = net.createServer(handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  };
  const closeListener = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    mode: () => current,
    async setMode(mode) {
      if (mode === current) return;
      if (current === 'refuse') await listen();
      if (mode === 'refuse') {
        stats.refusedPeriods += 1;
        const closing = closeListener();
        for (const socket of sockets) socket.resetAndDestroy();
        await closing;
      }
      current = mode;
    },
    stats: () => ({ ...stats }),
    async close() {
      for (const socket of sockets) socket.destroy();
      if (current !== 'refuse') await closeListener();
    },
  };
}
