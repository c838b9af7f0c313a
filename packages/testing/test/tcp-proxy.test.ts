import net from 'node:net';
import { startTcpProxy, startThrottledProxy } from '../src';

// The shared proxy bookkeeping: bytes go where `wire` sends them, `refuse` closes the port and
// resets open connections, `listen` reopens the same port, `close` leaves no socket open.

async function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined); // the proxy resets its upstream side too
    s.on('data', (chunk) => s.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

function roundTrip(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (chunk: Buffer) => {
      got += chunk.toString();
      if (got.length >= text.length) {
        socket.off('data', onData);
        resolve(got);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(text);
  });
}

describe('startTcpProxy', () => {
  it('forwards what wire forwards, refuses while refusing, reopens the same port and closes every socket', async () => {
    const echo = await echoServer();
    const proxy = await startTcpProxy(echo.port, ({ client, upstream }) => {
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => client.write(chunk.toString().toUpperCase()));
    });
    try {
      const first = await connect(proxy.port);
      expect(await roundTrip(first, 'hello')).toBe('HELLO');
      const reset = new Promise<string>((resolve) => first.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')).once('close', () => resolve('closed')));
      await proxy.refuse();
      expect(['ECONNRESET', 'closed']).toContain(await reset);
      await expect(connect(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await proxy.listen();
      const second = await connect(proxy.port);
      expect(await roundTrip(second, 'again')).toBe('AGAIN');
      const closed = new Promise<void>((resolve) => second.once('close', () => resolve()));
      second.on('error', () => undefined);
      await proxy.close();
      await closed;
      await expect(connect(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await proxy.close();
      await echo.close();
    }
  });

  it('startThrottledProxy delivers every byte through it', async () => {
    const echo = await echoServer();
    const proxy = await startThrottledProxy(echo.port, 64 * 1024);
    try {
      const socket = await connect(proxy.port);
      const text = 'x'.repeat(10_000);
      expect(await roundTrip(socket, text)).toBe(text);
      socket.destroy();
    } finally {
      await proxy.close();
      await echo.close();
    }
  });
});
