import http2 from 'node:http2';
import { ClaimService } from '@meridian/proto';
import { CELL_1_TOKEN, startHarness, type Harness } from './harness';
import { closedByServer, connectTcp, dribble, dribbleUntilClosed, h2Request, CLOSE_BOUND_MS } from './wire';

// Slow and idle clients cannot hold the service's sockets: every way of not finishing is cut by
// a timeout (short ones here; the assertions only say "closed", never how fast).

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    limits: {
      // short, but long enough that a loaded machine answers a complete request within them
      headersTimeoutMs: 1000,
      requestTimeoutMs: 2000,
      keepAliveTimeoutMs: 500,
      idleTimeoutMs: 3000,
      maxConcurrentStreams: 7,
    },
  });
});
afterAll(async () => {
  await h.close();
});

const BEGIN = `/${ClaimService.typeName}/BeginUpdate`;

describe('connections that never finish are closed by the server', () => {
  test('a TCP connection that never sends a byte', async () => {
    const socket = await connectTcp(h.url);
    await closedByServer(socket);
  });

  test('a connection that sends part of the HTTP/2 preface and stops', async () => {
    const socket = await connectTcp(h.url);
    socket.write('PRI * HTTP/2.0\r\n');
    await closedByServer(socket);
  });

  test('HTTP/1.1 headers dribbled a byte at a time', async () => {
    await dribbleUntilClosed(await connectTcp(h.url), 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n', 50);
  });

  test('an HTTP/1.1 body dribbled a byte at a time', async () => {
    const socket = await connectTcp(h.url);
    socket.write(
      `POST ${BEGIN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nAuthorization: Bearer ${CELL_1_TOKEN}\r\nContent-Length: 100000\r\n\r\n`,
    );
    const stop = dribble(socket, '\u0000', 50);
    try {
      await closedByServer(socket);
    } finally {
      stop();
    }
  });

  test('an idle HTTP/1.1 keep-alive connection after its response', async () => {
    const socket = await connectTcp(h.url);
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await closedByServer(socket);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
  });

  test('an HTTP/2 stream whose body never ends is reset; the connection keeps serving', async () => {
    const session = http2.connect(h.url);
    session.on('error', () => undefined);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': BEGIN,
        'content-type': 'application/grpc',
        te: 'trailers',
        authorization: `Bearer ${CELL_1_TOKEN}`,
      });
      stream.on('error', () => undefined);
      stream.write(Buffer.from([0, 0, 0, 0x10, 0])); // an envelope of 4 KiB follows...
      // ...one byte every 50 ms: the session is never idle, the request never complete
      const timer = setInterval(() => stream.destroyed || stream.write(Buffer.alloc(1)), 50);
      const closed = new Promise<number>((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error('stream still open')), CLOSE_BOUND_MS);
        stream.once('close', () => {
          clearTimeout(guard);
          resolve(stream.rstCode);
        });
      });
      try {
        expect(await closed).toBe(http2.constants.NGHTTP2_CANCEL);
      } finally {
        clearInterval(timer);
      }
      const health = await h2Request(session, { ':method': 'GET', ':path': '/healthz' }, Buffer.alloc(0));
      expect(health.headers[':status']).toBe(200);
    } finally {
      session.destroy();
    }
  });

  test('an idle HTTP/2 connection', async () => {
    const session = http2.connect(h.url);
    session.on('error', () => undefined);
    const closed = new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('session still open')), CLOSE_BOUND_MS);
      session.once('close', () => {
        clearTimeout(guard);
        resolve();
      });
    });
    const health = await h2Request(session, { ':method': 'GET', ':path': '/healthz' }, Buffer.alloc(0));
    expect(health.headers[':status']).toBe(200);
    await closed;
  });
});

test('HTTP/2 connections are told the stream limit', async () => {
  const session = http2.connect(h.url);
  session.on('error', () => undefined);
  try {
    const settings = await new Promise<http2.Settings>((resolve) => session.once('remoteSettings', resolve));
    expect(settings.maxConcurrentStreams).toBe(7);
  } finally {
    session.destroy();
  }
});
