// downloadBlob's HTTP client (node:http with a keep-alive pool) and the retrieve router's
// single-open serving: connection reuse, the small-body path, a pooled connection the server
// dropped, redirects, capped error bodies, and blobs replaced while they are being served.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import express from 'express';
import { createSilentLogger } from '@meridian/logger';
import { ChecksumMismatchError, SizeMismatchError, createFilesystemStorage, sha256Hex, type BlobStorage } from '@meridian/storage';
import { TransferHttpError, TransferTimeoutError, createRetrieveRouter, downloadBlob } from '../../src/transfer';
import { REPLICABLES, SECRET, listFiles, listen, makeDirs, startPrimary, type Dirs, type Primary } from './helpers';

let dirs: Dirs;
let primary: Primary | undefined;
let secondary: BlobStorage;

beforeEach(() => {
  dirs = makeDirs();
  secondary = createFilesystemStorage(dirs.secondaryRoot);
});

afterEach(async () => {
  await primary?.close();
  primary = undefined;
  dirs.cleanup();
});

async function seed(target: Primary, id: bigint, bytes: Buffer, checksum: string | null = sha256Hex(bytes)): Promise<string> {
  const blobPath = `packages/${id}/file.bin`;
  await target.storage.write(blobPath, bytes);
  target.rows.set(`package_file:${id}`, { blobPath, checksum });
  return blobPath;
}

const download = (primaryUrl: string, id: bigint, extra: Partial<Parameters<typeof downloadBlob>[0]> = {}) =>
  downloadBlob({ primaryUrl, secret: SECRET, replicable: 'package_file', id, storage: secondary, destinationPath: `pf/${id}.bin`, ...extra });

const readSecondary = (relative: string) => fs.readFileSync(path.join(dirs.secondaryRoot, relative));

describe('keep-alive connection pool', () => {
  it('serves many small and large blobs over a handful of connections', async () => {
    primary = await startPrimary(dirs.primaryRoot);
    const blobs = new Map<bigint, Buffer>();
    for (let i = 1n; i <= 200n; i += 1n) blobs.set(i, randomBytes(i % 50n === 0n ? 300_000 : 4096 + Number(i)));
    for (const [id, bytes] of blobs) await seed(primary, id, bytes);

    // 4 at a time, like a worker with capacity 4
    const ids = [...blobs.keys()];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let id = ids.shift(); id !== undefined; id = ids.shift()) {
          const result = await download(primary!.url, id);
          expect(result).toEqual({ size: blobs.get(id)!.length, sha256: sha256Hex(blobs.get(id)!), primaryChecksum: sha256Hex(blobs.get(id)!) });
        }
      }),
    );

    for (const [id, bytes] of blobs) expect(readSecondary(`pf/${id}.bin`).equals(bytes)).toBe(true);
    expect(listFiles(dirs.secondaryRoot)).toHaveLength(200);
    // one connection per concurrent request, reused for the rest (not one per blob)
    expect(primary.connections()).toBeLessThanOrEqual(8);
  });

  it('keeps its connections usable after error answers', async () => {
    primary = await startPrimary(dirs.primaryRoot);
    const bytes = randomBytes(2000);
    await seed(primary, 1n, bytes);
    primary.rows.set('package_file:2', { blobPath: 'packages/2/gone.bin', checksum: null });
    for (let round = 0; round < 20; round += 1) {
      await expect(download(primary.url, 2n)).rejects.toMatchObject({ name: 'FileMissingOnPrimaryError' });
      await expect(download(primary.url, 3n)).rejects.toMatchObject({ name: 'RemoteNotFoundError' });
      await expect(download(primary.url, 1n)).resolves.toMatchObject({ size: 2000 });
    }
    expect(primary.connections()).toBe(1);
  });

  it('retries once on a fresh connection when the server dropped a pooled one', async () => {
    const storage = createFilesystemStorage(dirs.primaryRoot);
    const bytes = randomBytes(5000);
    await storage.write('b/1.bin', bytes);
    const app = express();
    app.use(
      createRetrieveRouter({
        secret: SECRET,
        storage,
        logger: createSilentLogger(),
        knownReplicables: () => REPLICABLES,
        lookup: async () => ({ blobPath: 'b/1.bin', checksum: sha256Hex(bytes) }),
      }),
    );
    // Every connection serves one request and is then dropped by the server without a word, the
    // way an idle connection closed by the server's keep-alive timeout looks to a client that
    // just picked it from its pool.
    const served = new WeakSet<object>();
    let dropped = 0;
    const flaky = await listen((req: http.IncomingMessage, res: http.ServerResponse) => {
      if (served.has(req.socket)) {
        dropped += 1;
        req.socket.destroy();
        return;
      }
      served.add(req.socket);
      app(req, res);
    });
    try {
      for (let i = 0; i < 5; i += 1) {
        await expect(download(flaky.url, 1n, { destinationPath: `pf/${i}.bin` })).resolves.toMatchObject({ size: 5000 });
      }
      expect(dropped).toBeGreaterThan(0);
      for (let i = 0; i < 5; i += 1) expect(readSecondary(`pf/${i}.bin`).equals(bytes)).toBe(true);
    } finally {
      await flaky.close();
    }
  });
});

describe('the primary when a client goes away mid-blob', () => {
  it('logs the aborted send, closes the file and keeps serving', async () => {
    primary = await startPrimary(dirs.primaryRoot);
    const bytes = randomBytes(32 * 1024 * 1024);
    await seed(primary, 1n, bytes);
    const controller = new AbortController();
    const error = await download(primary.url, 1n, { signal: controller.signal, onProgress: () => controller.abort() }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AbortError' });
    const logs = () => primary!.logs.map((line) => line.msg);
    const deadline = Date.now() + 5000;
    while (!logs().includes('geo retrieve aborted mid-stream') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(logs()).toContain('geo retrieve aborted mid-stream');
    // the file was closed: removing it on the primary works, and the next transfer is served
    expect(await primary.storage.remove('packages/1/file.bin')).toBe(true);
    await seed(primary, 2n, randomBytes(3 * 1024 * 1024));
    await expect(download(primary.url, 2n)).resolves.toMatchObject({ size: 3 * 1024 * 1024 });
    expect(listFiles(dirs.secondaryRoot)).toEqual(['pf/2.bin']);
  });
});

describe('small bodies (read whole, written in one go)', () => {
  it('copies bodies around the 64 KiB boundary byte for byte', async () => {
    primary = await startPrimary(dirs.primaryRoot);
    const sizes = [1, 65_535, 65_536, 65_537, 200_000];
    for (const [i, size] of sizes.entries()) {
      const bytes = randomBytes(size);
      await seed(primary, BigInt(i + 1), bytes);
      let progress = 0;
      expect(await download(primary.url, BigInt(i + 1), { onProgress: (n) => (progress = n) })).toMatchObject({ size, sha256: sha256Hex(bytes) });
      expect(progress).toBe(size);
      expect(readSecondary(`pf/${i + 1}.bin`).equals(bytes)).toBe(true);
    }
    expect(listFiles(dirs.secondaryRoot)).toHaveLength(sizes.length);
  });

  it('leaves nothing behind on a checksum mismatch', async () => {
    primary = await startPrimary(dirs.primaryRoot);
    await seed(primary, 1n, randomBytes(3000));
    await expect(download(primary.url, 1n, { expectedSha256: sha256Hex('other') })).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(listFiles(dirs.secondaryRoot)).toEqual([]);
  });

  it('leaves nothing behind when the caller aborts mid-body', async () => {
    const controller = new AbortController();
    const slow = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': '4000' });
      res.write(Buffer.alloc(1000), () => setTimeout(() => controller.abort(), 20));
    });
    try {
      expect(await download(slow.url, 1n, { signal: controller.signal }).catch((e: unknown) => e)).toMatchObject({ name: 'AbortError' });
      expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('times out on a stalled small body, leaving nothing', async () => {
    const stalled = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': '4000' });
      res.write(Buffer.alloc(1000));
    });
    try {
      const error = await download(stalled.url, 1n, { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransferTimeoutError);
      expect(error).toMatchObject({ kind: 'inactivity' });
      expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    } finally {
      await stalled.close();
    }
  });

  it('honours the overall deadline while bytes keep trickling in', async () => {
    const trickle = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      const timer = setInterval(() => res.write(Buffer.alloc(100)), 20);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const error = await download(trickle.url, 1n, { timeoutMs: 1000, overallTimeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransferTimeoutError);
      expect(error).toMatchObject({ kind: 'overall' });
      expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    } finally {
      await trickle.close();
    }
  });

  it('fails on a small body cut short, leaving nothing', async () => {
    const cut = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': '4000' });
      res.write(Buffer.alloc(1000), () => res.destroy());
    });
    try {
      await expect(download(cut.url, 1n)).rejects.toThrow();
      expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    } finally {
      await cut.close();
    }
  });
});

describe('what the client refuses', () => {
  it('does not follow redirects', async () => {
    let elsewhere = 0;
    const other = await listen((_req, res) => {
      elsewhere += 1;
      res.end('x');
    });
    const redirecting = await listen((_req, res) => {
      res.writeHead(302, { location: `${other.url}/steal` });
      res.end();
    });
    try {
      const error = await download(redirecting.url, 1n).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransferHttpError);
      expect(error).toMatchObject({ status: 302 });
      expect(elsewhere).toBe(0);
      expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    } finally {
      await redirecting.close();
      await other.close();
    }
  });

  it('reads at most 16 KiB of an error body, even one that never ends', async () => {
    const endless = await listen((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.write('x'.repeat(64 * 1024)); // and never ends
    });
    try {
      const error = await download(endless.url, 1n, { timeoutMs: 5000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransferHttpError);
      expect(error).toMatchObject({ status: 500 });
      expect((error as TransferHttpError).bodyExcerpt).toHaveLength(500);
    } finally {
      await endless.close();
    }
  });

  it('checks a chunked body (no Content-Length) by its checksum', async () => {
    // no Content-Length: the stream path, no size to hold it to; the checksum still decides
    const chunked = await listen((_req, res) => {
      res.writeHead(200, { 'x-meridian-checksum-sha256': sha256Hex('expected') });
      res.end('something else');
    });
    try {
      await expect(download(chunked.url, 1n)).rejects.toBeInstanceOf(ChecksumMismatchError);
      expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    } finally {
      await chunked.close();
    }
  });
});

describe('a blob replaced while it is being served', () => {
  // The router opens the blob once and takes the size from that open file; the replacement below
  // is renamed over the path right after that open (what writeAtomic on the primary does).
  function replacingAfterOpen(replacement: () => Buffer) {
    return (storage: BlobStorage): BlobStorage => ({
      ...storage,
      open: async (relativePath, options) => {
        const opened = await storage.open(relativePath, options);
        await storage.write(relativePath, replacement());
        return opened;
      },
    });
  }

  for (const [label, size] of [
    ['small', 10_000],
    ['large', 3 * 1024 * 1024],
  ] as const) {
    it(`${label}: the secondary gets the version that was opened, complete`, async () => {
      const original = randomBytes(size);
      const replacement = randomBytes(size * 2 + 17);
      primary = await startPrimary(dirs.primaryRoot, replacingAfterOpen(() => replacement));
      // no checksum on the row: nothing but the served bytes decides what lands on the secondary
      await seed(primary, 1n, original, null);

      const result = await download(primary.url, 1n);

      expect(result).toEqual({ size: original.length, sha256: sha256Hex(original) });
      expect(readSecondary('pf/1.bin').equals(original)).toBe(true);
      // the next request serves the replacement, also complete
      expect(await download(primary.url, 1n, { destinationPath: 'pf/again.bin' })).toMatchObject({ size: replacement.length });
      expect(readSecondary('pf/again.bin').equals(replacement)).toBe(true);
    });

    it(`${label}: a replacement opened instead of the checksummed version fails its checksum, leaving nothing`, async () => {
      const original = randomBytes(size);
      const replacement = randomBytes(Math.floor(size / 2));
      primary = await startPrimary(dirs.primaryRoot);
      await seed(primary, 1n, original); // row carries the original's checksum
      await primary.storage.write('packages/1/file.bin', replacement); // replaced after the lookup's version

      await expect(download(primary.url, 1n)).rejects.toBeInstanceOf(ChecksumMismatchError);
      expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    });
  }

  it('never sends more bytes than the Content-Length it announced, even when the file grows in place', async () => {
    const original = randomBytes(2 * 1024 * 1024);
    const grow = (storage: BlobStorage): BlobStorage => ({
      ...storage,
      open: async (relativePath, options) => {
        const opened = await storage.open(relativePath, options);
        fs.appendFileSync(storage.resolve(relativePath), randomBytes(100_000)); // in place, not a rename
        return opened;
      },
    });
    primary = await startPrimary(dirs.primaryRoot, grow);
    await seed(primary, 1n, original, null);

    expect(await download(primary.url, 1n)).toEqual({ size: original.length, sha256: sha256Hex(original) });
    expect(readSecondary('pf/1.bin').equals(original)).toBe(true);
    // the connection is still in step: the next response parses fine on it
    await seed(primary, 2n, randomBytes(100));
    await expect(download(primary.url, 2n)).resolves.toMatchObject({ size: 100 });
    expect(primary.connections()).toBe(1);
  });

  it('a file truncated in place mid-stream ends in an error and nothing at the destination', async () => {
    const original = randomBytes(4 * 1024 * 1024);
    const shrink = (storage: BlobStorage): BlobStorage => ({
      ...storage,
      open: async (relativePath, options) => {
        const opened = await storage.open(relativePath, options);
        fs.truncateSync(storage.resolve(relativePath), 1000);
        return opened;
      },
    });
    primary = await startPrimary(dirs.primaryRoot, shrink);
    await seed(primary, 1n, original, null);

    const error = await download(primary.url, 1n).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: expect.any(String) });
    expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    // either the connection broke or the size check caught it; never a short file
    if (error instanceof SizeMismatchError) expect(error).toMatchObject({ expected: original.length });
  });
});
