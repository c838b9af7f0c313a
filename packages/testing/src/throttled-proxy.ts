import net from 'node:net';

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
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
