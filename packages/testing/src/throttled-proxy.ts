import { startTcpProxy } from './tcp-proxy';

export interface ThrottledProxy {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 that forwards to `targetPort`, delivering the server's bytes at about
 * `bytesPerSecond` per connection: a slow network link, so a download can be caught mid-flight.
 */
export async function startThrottledProxy(targetPort: number, bytesPerSecond: number): Promise<ThrottledProxy> {
  const proxy = await startTcpProxy(targetPort, ({ client, upstream }) => {
    client.pipe(upstream);
    const tick = 50;
    const perTick = Math.max(1, Math.floor((bytesPerSecond * tick) / 1000));
    const queue: Buffer[] = [];
    let ended = false;
    const timer = setInterval(() => {
      let budget = perTick;
      while (budget > 0 && queue.length > 0) {
        const head = queue[0]!;
        const piece = head.subarray(0, budget);
        client.write(piece);
        budget -= piece.length;
        if (piece.length === head.length) queue.shift();
        else queue[0] = head.subarray(piece.length);
      }
      if (queue.length === 0 && ended) {
        clearInterval(timer);
        client.end();
      }
      // keep memory bounded: stop reading upstream while much is buffered
      const buffered = queue.reduce((n, b) => n + b.length, 0);
      if (buffered > perTick * 20) upstream.pause();
      else upstream.resume();
    }, tick);
    upstream.on('data', (chunk: Buffer) => queue.push(chunk));
    upstream.on('end', () => (ended = true));
    client.on('close', () => clearInterval(timer));
  });
  return { url: proxy.url, port: proxy.port, close: () => proxy.close() };
}
