import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { connectNodeAdapter } from '@connectrpc/connect-node';

type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;

// One port for HTTP/2 (gRPC, Connect, gRPC-Web over h2c) and HTTP/1.1 (Connect, gRPC-Web).
// Node 20's plaintext http2 server ignores `allowHTTP1` (only its TLS server honours it), so we
// look at the first bytes of each connection: an HTTP/2 client starts with the "PRI * HTTP/2.0"
// preface, anything else is HTTP/1. Either way the bytes we read are put back (unshift) and the
// socket itself is handed over: the http2 session then reads the native socket directly (it picks
// up bytes already buffered, nodejs/node#35475), instead of through a JavaScript stream wrapper,
// which had cost a JS round trip per read and per write.

export interface DualProtocolServer {
  listen(port: number, host: string): Promise<number>;
  /** stops accepting, lets in-flight requests finish for `graceMs`, then cuts what is left */
  close(graceMs: number): Promise<void>;
}

export function createDualProtocolServer(handler: NodeHandlerFn): DualProtocolServer {
  // allowHTTP1 is honoured by plaintext servers on newer Node; the sniffing below covers Node 20
  const h2 = http2.createServer({ allowHTTP1: true } as http2.ServerOptions, handler);
  const h1 = http.createServer(handler as http.RequestListener);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    // RPCs are small request/response pairs: Nagle's algorithm plus delayed ACKs would add
    // tens of milliseconds to each (Node's own HTTP servers disable it too)
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      if (first.subarray(0, 3).toString('latin1') === 'PRI') {
        h2.emit('connection', socket);
      } else {
        h1.emit('connection', socket);
        socket.resume();
      }
    });
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, host, () => {
          tcp.off('error', reject);
          resolve((tcp.address() as net.AddressInfo).port);
        });
      });
    },
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const session of sessions) session.close();
      h1.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      timer.unref();
      // idle HTTP/1 keep-alive sockets would hold the listener open: poll them away until done
      const idle = setInterval(() => h1.closeIdleConnections(), 50);
      try {
        await closed;
      } finally {
        clearTimeout(timer);
        clearInterval(idle);
      }
    },
  };
}
