import { startTcpProxy } from '@meridian/testing';

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
  const stats = { connections: 0, resets: 0, delayed: 0, refusedPeriods: 0 };
  const proxy = await startTcpProxy(targetPort, ({ client, upstream }) => {
    stats.connections += 1;
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
  });
  return {
    url: proxy.url,
    port: proxy.port,
    mode: () => current,
    async setMode(mode) {
      if (mode === current) return;
      if (current === 'refuse') await proxy.listen();
      if (mode === 'refuse') {
        stats.refusedPeriods += 1;
        await proxy.refuse();
      }
      current = mode;
    },
    stats: () => ({ ...stats }),
    close: () => proxy.close(),
  };
}
