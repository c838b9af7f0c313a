import net from 'node:net';

// What a slow or misbehaving client puts on a raw TCP connection, for the servers' edge tests.

/** A generous bound for "the server closes it": far above every timeout the tests configure. */
export const CLOSE_BOUND_MS = 15_000;

/** Resolves when the server closes `socket` (or rejects after `CLOSE_BOUND_MS`). */
export function closedByServer(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${CLOSE_BOUND_MS} ms`));
    }, CLOSE_BOUND_MS);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export function connectTcp(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes `text` a few bytes at a time every `everyMs` until the socket closes; returns a stopper. */
export function dribble(socket: net.Socket, text: string, everyMs: number, bytesPerTick = 1): () => void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(text.slice(at % text.length, (at % text.length) + bytesPerTick));
    at += bytesPerTick;
  }, everyMs);
  return () => clearInterval(timer);
}

/**
 * Writes `head`, then dribbles `text` a byte every `everyMs` until the server closes the socket;
 * resolves with every byte the server sent (rejects after `CLOSE_BOUND_MS`).
 */
export async function dribbleUntilClosed(socket: net.Socket, head: string, text: string, everyMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(head);
  const stop = dribble(socket, text, everyMs);
  try {
    await closedByServer(socket);
  } finally {
    stop();
  }
  return Buffer.concat(chunks);
}
