import { mkdtempSync, rmSync } from 'node:fs';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@meridian/config';
import { migrationTemplate } from '@meridian/db';
import { createLogger } from '@meridian/logger';
import { openSiteResources, siteMigrationSet, type SiteResources } from '@meridian/runtime';
import { CLOSE_BOUND_MS, closeServer, closedByServer, connectTcp, createTestDatabase, createTestPrefix, dribbleUntilClosed, testRedisUrl, waitFor, type TestDatabase } from '@meridian/testing';
import { createSiteApi, siteHttpLimits, startSiteHttpServer } from '../src';

// The site API's server as main.ts starts it, with short limits from the configuration: a client
// that never finishes its headers or its body, or leaves a connection idle, is cut off; oversized
// headers get 431; past the connection limit new connections are closed. Assertions say "closed",
// never how fast.

const ADMIN = 'admin-token-for-tests-0001';

/** The raw answer to `request` on a fresh connection: everything the server sent before closing. */
async function rawExchange(url: string, request: string): Promise<string> {
  const socket = await connectTcp(url);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(request);
  await closedByServer(socket);
  return Buffer.concat(chunks).toString('latin1');
}

describe('site API HTTP limits', () => {
  let db: TestDatabase;
  let site: SiteResources;
  let server: Server;
  let url: string;
  const storageRoot = mkdtempSync(path.join(tmpdir(), 'meridian-site-limits-'));
  const { prefix, cleanup } = createTestPrefix();
  let echoed = 0;

  beforeAll(async () => {
    db = await createTestDatabase('msalim', { template: migrationTemplate(siteMigrationSet('main')) });
    const config = loadConfig({
      STORAGE_ROOT: storageRoot,
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      // short, but long enough that a loaded machine answers a complete request within them
      SITE_HTTP_HEADERS_TIMEOUT_MS: '1000',
      SITE_HTTP_REQUEST_TIMEOUT_MS: '2000',
      SITE_HTTP_KEEP_ALIVE_TIMEOUT_MS: '500',
      SITE_HTTP_IDLE_TIMEOUT_MS: '3000',
      SITE_HTTP_MAX_HEADER_BYTES: '4096',
      SITE_HTTP_MAX_CONNECTIONS: '8',
    });
    site = await openSiteResources(config, createLogger({ name: 'test', level: 'silent' }), { redisRole: 'producer', poolSize: 2 });
    // a route that reads a JSON body, counting the requests that reach it
    const echo = express.Router();
    echo.post('/', express.json(), (req, res) => {
      echoed += 1;
      res.json(req.body);
    });
    // a download far larger than the socket buffers, written as fast as the reader takes it
    const download = express.Router();
    download.get('/', (_req, res) => {
      const chunk = Buffer.alloc(1024 * 1024);
      let left = 256;
      const pump = () => {
        while (left > 0) {
          left -= 1;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const app = createSiteApi({
      site,
      adminToken: ADMIN,
      routers: [
        { path: '/test/echo', router: echo },
        { path: '/test/download', router: download },
      ],
    });
    server = await startSiteHttpServer(app, siteHttpLimits(config), 0, '127.0.0.1');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await closeServer(server);
    await site.close();
    await cleanup();
    await db.drop();
    rmSync(storageRoot, { recursive: true, force: true });
  });

  it('answers complete requests', async () => {
    const response = await fetch(`${url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true });
    const echo = await fetch(`${url}/test/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect([echo.status, await echo.json(), echoed]).toEqual([200, { a: 1 }, 1]);
  });

  it('closes a connection that never sends a byte', async () => {
    await closedByServer(await connectTcp(url));
  });

  it('closes a connection whose headers are dribbled a byte at a time', async () => {
    await dribbleUntilClosed(await connectTcp(url), 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n', 50);
  });

  it('ends a request whose body is dribbled a byte at a time (408), without calling the route', async () => {
    const before = echoed;
    const head = 'POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{';
    const answer = await dribbleUntilClosed(await connectTcp(url), head, ' ', 50);
    expect(answer.toString('latin1')).toMatch(/^HTTP\/1\.1 408 /);
    expect(echoed).toBe(before);
  });

  it('closes an idle keep-alive connection after its request', async () => {
    const answer = await rawExchange(url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('closes a download whose reader stopped reading, after the idle timeout', async () => {
    const connections = () => new Promise<number>((resolve, reject) => server.getConnections((error, n) => (error ? reject(error) : resolve(n))));
    await waitFor(async () => (await connections()) === 0, { timeoutMs: 15_000, message: 'earlier connections gone' });
    const socket = await connectTcp(url);
    socket.write('GET /test/download HTTP/1.1\r\nHost: x\r\n\r\n');
    socket.pause(); // reads nothing: the server's writes stall once the socket buffers are full
    try {
      await waitFor(async () => (await connections()) === 1, { timeoutMs: 15_000, message: 'the download connection is open' });
      // the server closes its side; the paused client would not notice, so count on the server
      await waitFor(async () => (await connections()) === 0, { timeoutMs: CLOSE_BOUND_MS, message: 'the stalled download was closed' });
    } finally {
      socket.destroy();
    }
  });

  it('refuses headers over SITE_HTTP_MAX_HEADER_BYTES with 431', async () => {
    const answer = await rawExchange(url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8192)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('closes connections past SITE_HTTP_MAX_CONNECTIONS, and serves again once they end', async () => {
    const held = await Promise.all(Array.from({ length: 8 }, () => connectTcp(url)));
    try {
      // the ninth is accepted by the kernel and closed by the server at once
      await closedByServer(await connectTcp(url));
    } finally {
      for (const socket of held) socket.destroy();
    }
    // the server counts the closed sockets down as it notices them
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
      status = await fetch(`${url}/healthz`)
        .then((r) => r.status)
        .catch(() => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});
