import net from 'node:net';

/** One proxied connection: the client's socket and the one opened to the target for it. */
export interface ProxyLink {
  client: net.Socket;
  upstream: net.Socket;
}

export interface TcpProxy {
  url: string;
  port: number;
  /** stops accepting (connections are refused: nothing listens) and resets every open connection */
  refuse(): Promise<void>;
  /** listens again on the same port after `refuse` */
  listen(): Promise<void>;
  /** destroys every open connection and stops listening */
  close(): Promise<void>;
}

/**
 * The bookkeeping every test proxy shares: a listener on 127.0.0.1, one upstream connection to
 * `targetPort` per client, both sockets tracked and destroyed together when either side ends or
 * fails. `wire` moves the bytes (throttled, delayed, reset…); nothing is forwarded unless it does.
 */
export async function startTcpProxy(targetPort: number, wire: (link: ProxyLink) => void): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const handle = (client: net.Socket) => {
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
    wire({ client, upstream });
  };
  let server: net.Server | undefined;
  const open = (port: number) =>
    new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer(handle);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve(s));
    });
  const stop = () => {
    const s = server;
    server = undefined;
    return s ? new Promise<void>((resolve) => s.close(() => resolve())) : Promise.resolve();
  };
  server = await open(0);
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async refuse() {
      const closing = stop();
      for (const socket of sockets) socket.resetAndDestroy();
      await closing;
    },
    async listen() {
      server ??= await open(port);
    },
    async close() {
      const closing = stop();
      for (const socket of sockets) socket.destroy();
      await closing;
    },
  };
}
