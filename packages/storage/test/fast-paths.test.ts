import { readFileSync } from 'node:fs';
// The paths that skip the stream machinery: writeAtomic with bytes given whole, and open() (one
// open file for size and bytes, small blobs read whole). Same guarantees as the stream paths.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { ChecksumMismatchError, SizeMismatchError, UnsafePathError, createFilesystemStorage, sha256Hex, type BlobStorage } from '../src';
import { listFiles, makeTempDirs, readAll, type TempDirs } from './helpers';

let dirs: TempDirs;
let storage: BlobStorage;

beforeEach(() => {
  dirs = makeTempDirs();
  storage = createFilesystemStorage(dirs.root);
});

afterEach(() => dirs.cleanup());

describe('writeAtomic with bytes given whole', () => {
  it('writes, hashes and reports progress like the stream path', async () => {
    const bytes = randomBytes(4096);
    let progress = 0;
    const result = await storage.writeAtomic('a/b/blob', bytes, { expectedSha256: sha256Hex(bytes).toUpperCase(), expectedSize: 4096, onProgress: (n) => (progress = n) });
    expect(result).toEqual({ size: 4096, sha256: sha256Hex(bytes) });
    expect(progress).toBe(4096);
    expect(fs.readFileSync(path.join(dirs.root, 'a/b/blob')).equals(bytes)).toBe(true);
    expect(listFiles(dirs.root)).toEqual(['a/b/blob']);
  });

  it('accepts a Uint8Array view and an empty blob', async () => {
    const backing = randomBytes(100);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 10, 50);
    expect(await storage.writeAtomic('view', view)).toEqual({ size: 50, sha256: sha256Hex(backing.subarray(10, 60)) });
    expect(fs.readFileSync(path.join(dirs.root, 'view')).equals(backing.subarray(10, 60))).toBe(true);
    expect(await storage.writeAtomic('empty', new Uint8Array(0))).toEqual({ size: 0, sha256: sha256Hex('') });
  });

  it('leaves nothing on a checksum mismatch, and keeps a previous blob', async () => {
    const error = await storage.writeAtomic('dir/blob', Buffer.from('actual'), { expectedSha256: sha256Hex('other') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect(error).toMatchObject({ expected: sha256Hex('other'), actual: sha256Hex('actual'), relativePath: 'dir/blob' });
    expect(listFiles(dirs.root)).toEqual([]);

    await storage.write('blob', 'old');
    await expect(storage.writeAtomic('blob', Buffer.from('new'), { expectedSha256: sha256Hex('other') })).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(fs.readFileSync(path.join(dirs.root, 'blob'), 'utf8')).toBe('old');
    expect(listFiles(dirs.root)).toEqual(['blob']);
  });

  it('leaves nothing on a size mismatch', async () => {
    await expect(storage.writeAtomic('dir/blob', Buffer.alloc(10), { expectedSize: 11 })).rejects.toBeInstanceOf(SizeMismatchError);
    expect(listFiles(dirs.root)).toEqual([]);
  });

  it('removes the temporary file when aborted while writing', async () => {
    const controller = new AbortController();
    let sawTemporary = false;
    const error = await storage
      .writeAtomic('dir/blob', randomBytes(8192), {
        signal: controller.signal,
        onProgress: () => {
          sawTemporary = listFiles(dirs.root).some((f) => f.startsWith('dir/.tmp-'));
          controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(sawTemporary).toBe(true);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(listFiles(dirs.root)).toEqual([]);
  });

  it('does nothing when the signal is already aborted', async () => {
    await expect(storage.writeAtomic('blob', Buffer.from('a'), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(listFiles(dirs.root)).toEqual([]);
  });

  it('refuses unsafe paths before touching the disk', async () => {
    await expect(storage.writeAtomic('../escape', Buffer.from('x'))).rejects.toBeInstanceOf(UnsafePathError);
    expect(fs.readdirSync(dirs.base).sort()).toEqual(['outside', 'root']);
  });

  it('lets concurrent writers of one path finish with one complete blob', async () => {
    const contents = ['x', 'y', 'z', 'w'].map((c) => Buffer.alloc(20_000, c));
    await Promise.all(contents.map((bytes) => storage.writeAtomic('blob', bytes)));
    const final = fs.readFileSync(path.join(dirs.root, 'blob'));
    expect(contents.some((bytes) => bytes.equals(final))).toBe(true);
    expect(listFiles(dirs.root)).toEqual(['blob']);
  });
});

describe('writeAtomic expectedSize on the stream path', () => {
  it('leaves nothing when the source delivers fewer or more bytes than announced', async () => {
    for (const size of [999, 1001]) {
      const error = await storage.writeAtomic('dir/blob', Readable.from([Buffer.alloc(500), Buffer.alloc(size - 500)]), { expectedSize: 1000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SizeMismatchError);
      expect(error).toMatchObject({ expected: 1000, actual: size });
      expect(listFiles(dirs.root)).toEqual([]);
    }
    await expect(storage.writeAtomic('dir/blob', Readable.from([Buffer.alloc(1000)]), { expectedSize: 1000 })).resolves.toMatchObject({ size: 1000 });
  });
});

describe('open', () => {
  it('reads small blobs whole and streams larger ones, sizes from the open file', async () => {
    const small = randomBytes(1000);
    const large = randomBytes(300_000);
    await storage.write('small', small);
    await storage.write('large', large);

    const a = (await storage.open('small', { readWholeUpTo: 1000 }))!;
    expect(a.size).toBe(1000);
    expect(a.bytes?.equals(small)).toBe(true);
    await a.close();

    const b = (await storage.open('large', { readWholeUpTo: 1000, highWaterMark: 64 * 1024 }))!;
    expect(b.size).toBe(300_000);
    expect(b.bytes).toBeUndefined();
    expect((await readAll(b.stream())).equals(large)).toBe(true);
    expect(() => b.stream()).toThrow(/once/);
    await b.close(); // a no-op after stream()
  });

  it('never reads whole by default, and reads an empty blob whole', async () => {
    await storage.write('one', 'x');
    await storage.write('empty', '');
    const one = (await storage.open('one'))!;
    expect(one.bytes).toBeUndefined();
    expect((await readAll(one.stream())).toString()).toBe('x');
    expect((await storage.open('empty'))!.bytes).toHaveLength(0);
  });

  it('is undefined for missing blobs and directories; refuses unsafe paths', async () => {
    await storage.write('dir/blob', 'x');
    expect(await storage.open('nope')).toBeUndefined();
    expect(await storage.open('dir/blob/below')).toBeUndefined();
    expect(await storage.open('dir')).toBeUndefined();
    await expect(storage.open('../outside')).rejects.toBeInstanceOf(UnsafePathError);
  });

  it('keeps serving the opened version, size and bytes, when a new one is renamed over it', async () => {
    const before = randomBytes(200_000);
    const after = randomBytes(500_000);
    await storage.write('blob', before);
    const opened = (await storage.open('blob'))!;
    await storage.write('blob', after);
    expect(opened.size).toBe(before.length);
    expect((await readAll(opened.stream())).equals(before)).toBe(true);
    const reopened = (await storage.open('blob'))!;
    expect(reopened.size).toBe(after.length);
    await reopened.close();
  });

  it('streams no more than the size it reported when the file grows in place', async () => {
    const before = randomBytes(100_000);
    await storage.write('blob', before);
    const opened = (await storage.open('blob'))!;
    fs.appendFileSync(path.join(dirs.root, 'blob'), randomBytes(50_000));
    expect((await readAll(opened.stream())).equals(before)).toBe(true);
  });

  it('closes the file when neither bytes nor stream are used', async () => {
    await storage.write('blob', randomBytes(100_000));
    const opened = (await storage.open('blob'))!;
    await opened.close();
    await opened.close();
    expect(() => opened.stream()).toThrow(/once/);
  });
});

describe('open().sendTo', () => {
  function collector(options: { failAfter?: number; slow?: boolean } = {}) {
    const chunks: Buffer[] = [];
    let received = 0;
    const writable = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        // copy: the sender reuses its buffers once a write is flushed
        chunks.push(Buffer.from(chunk));
        received += chunk.length;
        if (options.failAfter !== undefined && received > options.failAfter) return callback(new Error('peer went away'));
        if (options.slow) setTimeout(callback, 1);
        else callback();
      },
    });
    return { writable, bytes: () => Buffer.concat(chunks) };
  }

  it('sends every byte of a multi-chunk blob through reused buffers', async () => {
    const blobs = [randomBytes(3 * 1024 * 1024 + 7), randomBytes(2 * 1024 * 1024), randomBytes(1024 * 1024 + 1)];
    for (const [i, bytes] of blobs.entries()) await storage.write(`b${i}`, bytes);
    // concurrently and slowly, so buffers are in flight for several blobs at once
    const results = await Promise.all(
      blobs.map(async (bytes, i) => {
        const sink = collector({ slow: true });
        const sent = await (await storage.open(`b${i}`))!.sendTo(sink.writable);
        return { sent, ok: sink.bytes().equals(bytes) };
      }),
    );
    expect(results).toEqual(blobs.map((bytes) => ({ sent: bytes.length, ok: true })));
  });

  it('sends the size it reported when the file grows, and reports a short count when it shrinks', async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    await storage.write('grow', bytes);
    const grow = (await storage.open('grow'))!;
    fs.appendFileSync(path.join(dirs.root, 'grow'), randomBytes(1000));
    const sink = collector();
    expect(await grow.sendTo(sink.writable)).toBe(bytes.length);
    expect(sink.bytes().equals(bytes)).toBe(true);

    await storage.write('shrink', bytes);
    const shrink = (await storage.open('shrink'))!;
    fs.truncateSync(path.join(dirs.root, 'shrink'), 1000);
    expect(await shrink.sendTo(collector().writable)).toBe(1000);
  });

  it('rejects when the destination fails or closes early, and closes the file either way', async () => {
    await storage.write('blob', randomBytes(4 * 1024 * 1024));
    const failing = (await storage.open('blob'))!;
    await expect(failing.sendTo(collector({ failAfter: 1024 * 1024 }).writable)).rejects.toThrow(/peer went away|destination closed/);

    const closing = (await storage.open('blob'))!;
    const sink = collector({ slow: true });
    const sending = closing.sendTo(sink.writable);
    setTimeout(() => sink.writable.destroy(), 5);
    await expect(sending).rejects.toThrow();
    // both files are closed: the blob can be removed and its directory entry is gone
    expect(await storage.remove('blob')).toBe(true);
    expect(() => closing.stream()).toThrow(/once/);
  });

  it('sends a small blob read whole in one write', async () => {
    await storage.write('small', 'hello');
    const sink = collector();
    expect(await (await storage.open('small', { readWholeUpTo: 100 }))!.sendTo(sink.writable)).toBe(5);
    expect(sink.bytes().toString()).toBe('hello');
  });
});

describe('deferred durability (durable: false + syncFiles)', () => {
  const { root, cleanup } = makeTempDirs();
  const storage = createFilesystemStorage(root);
  afterAll(() => cleanup());

  it('writes without a per-file flush, then flushes a batch of files and their directories', async () => {
    const paths = Array.from({ length: 20 }, (_, i) => `batch/${i % 3}/blob-${i}.bin`);
    for (const [i, p] of paths.entries()) {
      const result = await storage.writeAtomic(p, Readable.from([Buffer.from(`blob ${i}`)]), { durable: false });
      expect(result.size).toBe(`blob ${i}`.length);
    }
    await expect(storage.syncFiles(paths)).resolves.toBeUndefined();
    for (const [i, p] of paths.entries()) expect(readFileSync(path.join(root, p), 'utf8')).toBe(`blob ${i}`);
  });

  it('flushes every directory up to the root once (a write may have created them), nothing above it', async () => {
    const paths = ['deep/a/b/x.bin', 'deep/a/c/y.bin'];
    for (const p of paths) await storage.writeAtomic(p, Buffer.from(p), { durable: false });
    const opened: string[] = [];
    const openSync = fs.openSync.bind(fs);
    // observe the real calls (this storage opens with the default synchronous small-file calls)
    const spy = jest.spyOn(fs, 'openSync').mockImplementation((file, ...rest) => {
      opened.push(String(file));
      return openSync(file, ...rest);
    });
    try {
      await storage.syncFiles(paths);
    } finally {
      spy.mockRestore();
    }
    const dirs = ['deep/a/b', 'deep/a/c', 'deep/a', 'deep'].map((d) => path.join(root, d)).concat(root);
    expect(opened.filter((f) => !f.endsWith('.bin')).sort()).toEqual(dirs.sort());
    expect(opened.filter((f) => f.endsWith('.bin')).sort()).toEqual(paths.map((p) => path.join(root, p)).sort());
  });

  it('refuses to flush a path outside the root or a missing file', async () => {
    await expect(storage.syncFiles(['../outside'])).rejects.toThrow(UnsafePathError);
    await expect(storage.syncFiles(['batch/missing.bin'])).rejects.toThrow(/ENOENT/);
  });
});

describe.each(['sync', 'async'] as const)('small blobs with smallFileIo %s', (smallFileIo) => {
  const { root, cleanup } = makeTempDirs();
  const storage = createFilesystemStorage(root, { smallFileIo });
  afterAll(() => cleanup());

  it('writes whole and reads whole, identical bytes; a larger blob still streams', async () => {
    const bytes = randomBytes(4096);
    expect(await storage.writeAtomic('s/a/4k.bin', bytes)).toEqual({ size: 4096, sha256: sha256Hex(bytes) });
    const opened = await storage.open('s/a/4k.bin', { readWholeUpTo: 64 * 1024 });
    expect(opened?.bytes?.equals(bytes)).toBe(true);
    const big = randomBytes(100 * 1024);
    await storage.writeAtomic('s/a/big.bin', big);
    const streamed = await storage.open('s/a/big.bin', { readWholeUpTo: 64 * 1024 });
    expect(streamed?.bytes).toBeUndefined();
    expect((await readAll(streamed!.stream())).equals(big)).toBe(true);
  });

  it('is undefined for a missing blob or a directory, and a refused write leaves nothing', async () => {
    expect(await storage.open('s/missing.bin', { readWholeUpTo: 64 * 1024 })).toBeUndefined();
    expect(await storage.open('s/a', { readWholeUpTo: 64 * 1024 })).toBeUndefined();
    await expect(storage.writeAtomic('s/b/bad.bin', Buffer.from('x'), { expectedSha256: 'a'.repeat(64) })).rejects.toThrow(ChecksumMismatchError);
    expect(listFiles(root).some((f) => f.includes('s/b'))).toBe(false);
  });
});
