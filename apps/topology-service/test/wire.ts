import http2 from 'node:http2';
import net from 'node:net';
import { CLOSE_BOUND_MS, closedByServer, connectTcp, dribble, dribbleUntilClosed } from '@meridian/testing';

// Raw HTTP helpers for the edge tests: what a misbehaving or independent client puts on the wire
// (the socket-level ones are in @meridian/testing, shared with the site API's tests).

export { CLOSE_BOUND_MS, closedByServer, connectTcp, dribble, dribbleUntilClosed };

/** A gRPC envelope: flags, big-endian length, message. `declared` overrides the length field. */
export function envelope(message: Uint8Array, declared = message.length): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(declared, 1);
  out.set(message, 5);
  return out;
}

export interface RawAnswer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** request body bytes the server let the client send before the stream closed */
  sentBytes: number;
  rstCode: number | undefined;
}

/**
 * One request on `session`: sends `head`, then `rest` bytes of filler (zeros) in 64 KiB chunks
 * as flow control allows, stopping when the server answers or closes the stream.
 */
export function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  head: Buffer,
  rest = 0,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', te: 'trailers', ...headers });
    let answerHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let sentBytes = 0;
    let stop = false;
    stream.on('response', (h) => {
      answerHeaders = h;
      if (h['grpc-status'] !== undefined) trailers = h;
    });
    stream.on('trailers', (t) => {
      trailers = t;
      stop = true;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      stop = true;
      resolve({ headers: answerHeaders, trailers, body: Buffer.concat(chunks), sentBytes, rstCode: stream.rstCode });
    });
    const chunk = Buffer.alloc(64 * 1024);
    let left = rest;
    const pump = () => {
      while (!stop && left > 0 && !stream.destroyed && !stream.writableEnded) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        const ok = stream.write(piece, (err) => {
          if (!err) sentBytes += piece.length;
        });
        if (!ok) {
          stream.once('drain', pump);
          return;
        }
      }
      if (!stop && left === 0 && !stream.destroyed && !stream.writableEnded) stream.end();
    };
    stream.write(head, (err) => {
      if (!err) sentBytes += head.length;
    });
    pump();
  });
}

/**
 * A TCP relay in front of `target` that forwards the client's first `splitBytes` bytes one byte
 * per write (a few milliseconds apart), then everything as it comes: a client whose first bytes
 * arrive fragmented.
 */
export async function startFragmentingRelay(target: string, splitBytes: number): Promise<{ url: string; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    let forwarded = 0;
    let queue = Promise.resolve();
    client.on('data', (data: Buffer) => {
      queue = queue.then(async () => {
        for (let i = 0; i < data.length; i++) {
          if (forwarded < splitBytes) {
            upstream.write(data.subarray(i, i + 1));
            forwarded++;
            await new Promise((r) => setTimeout(r, 2));
          } else {
            upstream.write(data.subarray(i));
            forwarded += data.length - i;
            break;
          }
        }
      });
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        relay.close(() => r());
      }),
  };
}
