import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { waitFor } from '@meridian/testing';
import {
  BlobMissingError,
  ChecksumMismatchError,
  UnsafePathError,
  createFilesystemStorage,
  sha256Hex,
  type BlobStorage,
} from '../src';
import { gatedSource, listFiles, makeTempDirs, readAll, type TempDirs } from './helpers';

let dirs: TempDirs;
let storage: BlobStorage;

beforeEach(() => {
  dirs = makeTempDirs();
  storage = createFilesystemStorage(dirs.root);
});

afterEach(() => dirs.cleanup());

describe('round trip', () => {
  it('streams a blob in, verifies its checksum and reads the same bytes back', async () => {
    const chunks = Array.from({ length: 20 }, () => randomBytes(100_000));
    const bytes = Buffer.concat(chunks);
    const progress: number[] = [];
    const result = await storage.writeAtomic('packages/1/2/file.bin', Readable.from(chunks), {
      expectedSha256: sha256Hex(bytes).toUpperCase(),
      onProgress: (n) => progress.push(n),
    });

    expect(result).toEqual({ size: bytes.length, sha256: sha256Hex(bytes) });
    expect(progress.at(-1)).toBe(bytes.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect((await readAll(await storage.createReadStream('packages/1/2/file.bin'))).equals(bytes)).toBe(true);
    expect(await storage.sha256('packages/1/2/file.bin')).toBe(sha256Hex(bytes));
    expect(await storage.stat('packages/1/2/file.bin')).toMatchObject({ size: bytes.length });
    expect(await storage.exists('packages/1/2/file.bin')).toBe(true);
    expect(storage.resolve('packages/1/2/file.bin')).toBe(path.join(dirs.root, 'packages/1/2/file.bin'));
    expect(listFiles(dirs.root)).toEqual(['packages/1/2/file.bin']);
  });

  it('hashes blobs of every size, many at once, each to its own SHA-256 (reused read buffers are never shared)', async () => {
    const MiB = 1024 * 1024;
    // empty, under one read, exactly one read, one byte over, several reads and a tail
    const sizes = [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 12_345];
    const blobs = sizes.map((size, i) => ({ name: `hash/${i}.bin`, bytes: randomBytes(size) }));
    for (const blob of blobs) await storage.write(blob.name, blob.bytes);
    // twice over, all at once: more hashes in flight than the pool keeps buffers
    const all = [...blobs, ...blobs];
    const digests = await Promise.all(all.map((blob) => storage.sha256(blob.name)));
    expect(digests).toEqual(all.map((blob) => sha256Hex(blob.bytes)));
    await expect(storage.sha256('hash')).rejects.toBeInstanceOf(BlobMissingError); // a directory is not a blob
  });

  it('writes strings and bytes atomically with write()', async () => {
    expect(await storage.write('a.txt', 'héllo')).toEqual({ size: 6, sha256: sha256Hex('héllo') });
    await storage.write('b.bin', new Uint8Array([1, 2, 3]));
    expect(fs.readFileSync(path.join(dirs.root, 'a.txt'), 'utf8')).toBe('héllo');
    expect([...fs.readFileSync(path.join(dirs.root, 'b.bin'))]).toEqual([1, 2, 3]);
    expect(await storage.write('empty', '')).toEqual({ size: 0, sha256: sha256Hex('') });
  });

  it('reports missing blobs as undefined, false or BlobMissingError', async () => {
    expect(await storage.stat('nope/x')).toBeUndefined();
    expect(await storage.exists('nope/x')).toBe(false);
    await expect(storage.createReadStream('nope/x')).rejects.toBeInstanceOf(BlobMissingError);
    await expect(storage.sha256('nope/x')).rejects.toBeInstanceOf(BlobMissingError);
    await storage.write('file', 'x');
    // a regular file used as a directory is still just "missing"
    expect(await storage.stat('file/child')).toBeUndefined();
    fs.mkdirSync(path.join(dirs.root, 'dir'));
    expect(await storage.exists('dir')).toBe(false);
    await expect(storage.createReadStream('dir')).rejects.toBeInstanceOf(BlobMissingError);
  });

  it('removes blobs and says whether they existed', async () => {
    await storage.write('x/y', 'data');
    expect(await storage.remove('x/y')).toBe(true);
    expect(await storage.remove('x/y')).toBe(false);
    expect(await storage.exists('x/y')).toBe(false);
  });

  it('creates its root when missing', () => {
    const nested = path.join(dirs.base, 'deep', 'er', 'root');
    const created = createFilesystemStorage(nested);
    expect(created.root).toBe(nested);
    expect(fs.statSync(nested).isDirectory()).toBe(true);
  });
});

describe('unsafe paths', () => {
  const unsafe = ['', '/etc/passwd', '../x', 'a/../../x', '..', '.', 'a/..', 'a\0b', 'a\\b', '..\\x', 'dir/.tmp-123'];

  it.each(unsafe)('refuses %j everywhere and writes nothing', async (relativePath) => {
    expect(() => storage.resolve(relativePath)).toThrow(UnsafePathError);
    await expect(storage.write(relativePath, 'evil')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.writeAtomic(relativePath, Readable.from([Buffer.from('evil')]))).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.stat(relativePath)).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.createReadStream(relativePath)).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.sha256(relativePath)).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.remove(relativePath)).rejects.toBeInstanceOf(UnsafePathError);
    expect(listFiles(dirs.base)).toEqual([]);
  });

  it('allows dot segments that stay inside the root', () => {
    expect(storage.resolve('a/../b')).toBe(path.join(dirs.root, 'b'));
    expect(storage.resolve('./a/./b')).toBe(path.join(dirs.root, 'a/b'));
  });

  it('refuses a directory symlink that leads outside the root', async () => {
    fs.writeFileSync(path.join(dirs.outside, 'secret'), 'top secret');
    fs.symlinkSync(dirs.outside, path.join(dirs.root, 'link'));

    expect(() => storage.resolve('link/new-file')).toThrow(UnsafePathError);
    await expect(storage.write('link/new-file', 'evil')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.write('link/deeper/new-file', 'evil')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.createReadStream('link/secret')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.remove('link/secret')).rejects.toBeInstanceOf(UnsafePathError);
    expect(fs.readdirSync(dirs.outside)).toEqual(['secret']);
  });

  it('refuses a file symlink that leads outside the root, and a dangling one', async () => {
    fs.writeFileSync(path.join(dirs.outside, 'secret'), 'top secret');
    fs.symlinkSync(path.join(dirs.outside, 'secret'), path.join(dirs.root, 'evil'));
    fs.symlinkSync(path.join(dirs.outside, 'not-yet'), path.join(dirs.root, 'dangling'));

    await expect(storage.createReadStream('evil')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.sha256('evil')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.write('dangling', 'evil')).rejects.toBeInstanceOf(UnsafePathError);
    await expect(storage.write('dangling/x', 'evil')).rejects.toBeInstanceOf(UnsafePathError);
    expect(fs.readdirSync(dirs.outside)).toEqual(['secret']);
    expect(fs.readFileSync(path.join(dirs.outside, 'secret'), 'utf8')).toBe('top secret');
  });

  it('refuses a symlink to the root itself but follows symlinks that stay inside', async () => {
    fs.symlinkSync(dirs.root, path.join(dirs.root, 'self'));
    expect(() => storage.resolve('self')).toThrow(UnsafePathError);

    await storage.write('real/file', 'inside');
    fs.symlinkSync(path.join(dirs.root, 'real'), path.join(dirs.root, 'alias'));
    expect((await readAll(await storage.createReadStream('alias/file'))).toString()).toBe('inside');
  });
});

describe('checksums', () => {
  it('leaves neither the final nor a temporary file on a mismatch', async () => {
    const wrong = sha256Hex('something else');
    const error = await storage
      .writeAtomic('dir/blob', Readable.from([Buffer.from('actual bytes')]), { expectedSha256: wrong })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect(error).toMatchObject({ expected: wrong, actual: sha256Hex('actual bytes') });
    expect(listFiles(dirs.root)).toEqual([]);
  });

  it('keeps the previous blob when a replacement fails its checksum', async () => {
    await storage.write('blob', 'old');
    await expect(storage.writeAtomic('blob', Readable.from([Buffer.from('new')]), { expectedSha256: sha256Hex('other') })).rejects.toBeInstanceOf(
      ChecksumMismatchError,
    );
    expect(fs.readFileSync(path.join(dirs.root, 'blob'), 'utf8')).toBe('old');
    expect(listFiles(dirs.root)).toEqual(['blob']);
  });

  it('rejects a malformed expected checksum before writing anything', async () => {
    await expect(storage.writeAtomic('blob', Readable.from([Buffer.from('x')]), { expectedSha256: 'abc' })).rejects.toThrow(TypeError);
    expect(listFiles(dirs.root)).toEqual([]);
  });

  it('removes the temporary file when the source fails', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(1000);
      throw new Error('connection reset');
    }
    await expect(storage.writeAtomic('dir/blob', failing())).rejects.toThrow('connection reset');
    expect(listFiles(dirs.root)).toEqual([]);
  });
});

describe('abort', () => {
  it('removes the temporary file and rejects with an AbortError', async () => {
    const controller = new AbortController();
    const { source, release } = gatedSource(Buffer.alloc(64 * 1024, 1), Buffer.alloc(64 * 1024, 2));
    let written = 0;
    const writing = storage.writeAtomic('dir/blob', source, { signal: controller.signal, onProgress: (n) => (written = n) });
    const settled = writing.catch((error: unknown) => error);

    await waitFor(() => written > 0, { message: 'first chunk written' });
    expect(listFiles(dirs.root).filter((f) => f.startsWith('dir/.tmp-'))).toHaveLength(1);
    controller.abort();
    release();

    expect(await settled).toMatchObject({ name: 'AbortError' });
    expect(listFiles(dirs.root)).toEqual([]);
  });

  it('does nothing when the signal is already aborted', async () => {
    await expect(storage.write('x', 'y').then(() => storage.writeAtomic('z', Readable.from([Buffer.from('a')]), { signal: AbortSignal.abort() }))).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(listFiles(dirs.root)).toEqual(['x']);
  });
});

describe('atomic overwrite', () => {
  it('shows readers the old blob or the new one, never a mix', async () => {
    const size = 2 * 1024 * 1024;
    await storage.write('blob', Buffer.alloc(size, 'a'));
    const { source, release } = gatedSource(Buffer.alloc(size / 2, 'b'), Buffer.alloc(size / 2, 'b'));
    let written = 0;
    const writing = storage.writeAtomic('blob', source, { onProgress: (n) => (written = n) });

    await waitFor(() => written >= size / 2, { message: 'half of the new blob written' });
    // mid-write: the final path still holds the complete old blob
    const during = fs.readFileSync(path.join(dirs.root, 'blob'));
    expect(during.equals(Buffer.alloc(size, 'a'))).toBe(true);
    // a reader that opened the old blob keeps reading it to the end across the rename
    const oldReader = await storage.createReadStream('blob');

    release();
    expect(await writing).toMatchObject({ size, sha256: sha256Hex(Buffer.alloc(size, 'b')) });
    expect((await readAll(oldReader)).equals(Buffer.alloc(size, 'a'))).toBe(true);
    expect((await readAll(await storage.createReadStream('blob'))).equals(Buffer.alloc(size, 'b'))).toBe(true);
    expect(listFiles(dirs.root)).toEqual(['blob']);
  });

  it('lets concurrent writers of one path finish with one complete blob', async () => {
    const contents = ['x', 'y', 'z'].map((c) => Buffer.alloc(300_000, c));
    await Promise.all(contents.map((bytes) => storage.write('blob', bytes)));
    const final = fs.readFileSync(path.join(dirs.root, 'blob'));
    expect(contents.some((bytes) => bytes.equals(final))).toBe(true);
    expect(listFiles(dirs.root)).toEqual(['blob']);
  });
});

describe('sweepTemporaryFiles', () => {
  it('removes only temporary files older than the threshold', async () => {
    await storage.write('keep/blob', 'blob');
    const stale = path.join(dirs.root, 'keep', '.tmp-stale');
    const fresh = path.join(dirs.root, 'keep', '.tmp-fresh');
    fs.writeFileSync(stale, 'partial');
    fs.writeFileSync(fresh, 'in flight');
    const hourAgo = new Date(Date.now() - 3_600_000);
    fs.utimesSync(stale, hourAgo, hourAgo);
    // the sweeper never follows symlinks out of the root
    fs.writeFileSync(path.join(dirs.outside, '.tmp-outside'), 'x');
    fs.utimesSync(path.join(dirs.outside, '.tmp-outside'), hourAgo, hourAgo);
    fs.symlinkSync(dirs.outside, path.join(dirs.root, 'link'));

    expect(await storage.sweepTemporaryFiles(60_000)).toBe(1);
    expect(listFiles(dirs.root)).toEqual(['keep/.tmp-fresh', 'keep/blob', 'link']);
    expect(fs.readdirSync(dirs.outside)).toEqual(['.tmp-outside']);
  });
});
