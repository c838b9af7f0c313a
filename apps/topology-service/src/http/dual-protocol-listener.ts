import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type { connectNodeAdapter } from '@connectrpc/connect-node';
import { createH2StreamDeadline } from './h2-stream-deadline';

type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;

// One port for HTTP/2 without TLS (gRPC, Connect, gRPC-Web over h2c with prior knowledge) and
// HTTP/1.1 (Connect, gRPC-Web). Node's plaintext http2 server cannot fall back to HTTP/1.1 by
// itself (only its TLS server can, through ALPN), so the HTTP/1.1 server owns the port and a
// router decides, from a connection's first bytes, which server's connection handler gets it:
// the 24-byte HTTP/2 client preface means HTTP/2, anything that stops matching it means HTTP/1.
// Bytes may arrive one at a time; they are put back (unshift) before the socket is handed over,
// and the native socket itself is handed over (the http2 session picks up bytes already
// buffered, nodejs/node#35475). Because the HTTP/1.1 server really listens, its own header,
// request, keep-alive and idle timeouts run as they do on any Node server; HTTP/2 gets a session
// idle timeout, a stream limit and a per-stream request deadline.

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface HttpLimits {
  /** first bytes of a connection, and on HTTP/1.1 the complete request headers, within this */
  headersTimeoutMs: number;
  /** a whole request (headers + body): HTTP/1.1 requests and HTTP/2 streams */
  requestTimeoutMs: number;
  /** HTTP/1.1 connection waiting for its next request */
  keepAliveTimeoutMs: number;
  /** a connection (HTTP/1.1 socket, HTTP/2 session) with no traffic either way */
  idleTimeoutMs: number;
  /** concurrent streams per HTTP/2 connection */
  maxConcurrentStreams: number;
  /** request header bytes (HTTP/1.1) / header list size (HTTP/2) */
  maxHeaderBytes: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 120_000,
  maxConcurrentStreams: 100,
  maxHeaderBytes: 16 * 1024,
};

export interface DualProtocolServer {
  listen(port: number, host: string): Promise<number>;
  /** stops accepting, lets in-flight requests finish for `graceMs`, then cuts what is left */
  close(graceMs: number): Promise<void>;
}

type ConnectionListener = (socket: net.Socket) => void;

/** Hands the socket to `onH2` or `onH1` once its first bytes tell which; closes it when they do not come. */
function routeByPreface(socket: net.Socket, timeoutMs: number, onH1: ConnectionListener, onH2: ConnectionListener): void {
  const chunks: Buffer[] = [];
  let received = 0;
  const done = () => {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('timeout', onTimeout);
    socket.setTimeout(0);
    socket.pause();
    for (let i = chunks.length - 1; i >= 0; i--) socket.unshift(chunks[i]!);
  };
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    const start = received;
    received += chunk.length;
    // compare only the bytes that can still belong to the preface
    const upTo = Math.min(received, H2_PREFACE.length);
    if (start < upTo && !chunk.subarray(0, upTo - start).equals(H2_PREFACE.subarray(start, upTo))) {
      done();
      onH1(socket);
      socket.resume();
    } else if (received >= H2_PREFACE.length) {
      done();
      onH2(socket);
    }
  };
  const onEnd = () => socket.destroy();
  const onTimeout = () => socket.destroy();
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('timeout', onTimeout);
  socket.setTimeout(timeoutMs);
}

export function createDualProtocolServer(handler: NodeHandlerFn, limits: HttpLimits = DEFAULT_HTTP_LIMITS): DualProtocolServer {
  const h1 = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // how often Node checks the header and request timeouts (its default is every 30 s)
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
      // RPCs are small request/response pairs: no Nagle delay (Node's default too)
      noDelay: true,
    },
    handler as http.RequestListener,
  );
  h1.timeout = limits.idleTimeoutMs;

  const h2 = http2.createServer(
    {
      maxSessionMemory: 32,
      settings: {
        maxConcurrentStreams: limits.maxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderBytes,
      },
    },
    handler,
  );
  h2.setTimeout(limits.idleTimeoutMs);
  // an idle session: GOAWAY, then cut it if the client does not close it
  h2.on('timeout', (session: http2.ServerHttp2Session) => {
    session.close();
    setTimeout(() => session.destroy(), 1000).unref();
  });
  const deadline = createH2StreamDeadline(limits.requestTimeoutMs);
  h2.on('stream', deadline);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });

  // the HTTP/1.1 server owns the port; its own connection handler serves HTTP/1 sockets
  const h1ConnectionListeners = h1.listeners('connection') as ConnectionListener[];
  if (h1ConnectionListeners.length !== 1) throw new Error('unexpected http.Server connection listeners');
  const h1Connection = h1ConnectionListeners[0]!;
  h1.removeAllListeners('connection');
  const sockets = new Set<net.Socket>();
  h1.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    routeByPreface(
      socket,
      limits.headersTimeoutMs,
      (s) => h1Connection.call(h1, s),
      (s) => h2.emit('connection', s),
    );
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        h1.once('error', reject);
        h1.listen(port, host, () => {
          h1.off('error', reject);
          resolve((h1.address() as net.AddressInfo).port);
        });
      });
    },
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => h1.close(() => resolve()));
      for (const session of sessions) session.close();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      timer.unref();
      // keep-alive HTTP/1 sockets that become idle after their last response
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
