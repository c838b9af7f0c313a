import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStat, BlobStorage, OpenBlobOptions, OpenedBlob, WriteAtomicOptions, WriteResult } from './blob-storage';
import { BlobMissingError, ChecksumMismatchError, SizeMismatchError } from './errors';
import { resolveInside } from './safe-path';
import { normalizeSha256 } from './sha256';
import { fdatasync, SMALL_FILE_LIMIT, smallFileOps, type SmallFileIo } from './small-file-io';
import { isTemporaryName, temporaryName } from './temporary-files';

// Chunks queue up to this much before the writer applies backpressure: large enough that the
// network read and the disk write overlap, small enough to never hold a whole blob in memory.
const WRITE_HIGH_WATER_MARK = 1024 * 1024;
const READ_HIGH_WATER_MARK = 256 * 1024;

// sendTo() and sha256(): chunk size, and how many idle read buffers the process keeps for reuse. Reusing them
// spares the garbage collector a fresh 1 MiB external buffer per chunk served.
const SEND_CHUNK = 1024 * 1024;
const SEND_POOL_LIMIT = 8;
const SEND_IN_FLIGHT = 2;
const sendPool: Buffer[] = [];

function recycle(buffer: Buffer): void {
  if (sendPool.length < SEND_POOL_LIMIT) sendPool.push(buffer);
}

/** OpenedBlob.sendTo for a file: read into pooled buffers, write, reuse once flushed. */
async function sendFile(handle: FileHandle, size: number, destination: NodeJS.WritableStream): Promise<number> {
  let position = 0;
  const inFlight: Promise<void>[] = [];
  let onClose!: () => void;
  let onError!: (error: Error) => void;
  // Like pipeline: a destination that errors or closes mid-way fails the send (and an 'error'
  // event never goes unhandled while we write to it).
  const closedEarly = new Promise<never>((_resolve, reject) => {
    onClose = () => reject(new Error('the destination closed before the blob was sent'));
    onError = reject;
  });
  closedEarly.catch(() => undefined);
  destination.once('close', onClose);
  destination.on('error', onError);
  try {
    while (position < size) {
      const buffer = sendPool.pop() ?? Buffer.allocUnsafeSlow(SEND_CHUNK);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, size - position), position));
      } catch (error) {
        recycle(buffer);
        throw error;
      }
      if (bytesRead === 0) {
        recycle(buffer); // truncated in place: stop short, the caller sees the count
        break;
      }
      position += bytesRead;
      const written = new Promise<void>((resolve, reject) => {
        destination.write(buffer.subarray(0, bytesRead), (error?: Error | null) => {
          if (error) return reject(error);
          // Flushed to the kernel: nothing refers to the bytes any more.
          recycle(buffer);
          resolve();
        });
      });
      written.catch(() => undefined);
      inFlight.push(written);
      if (inFlight.length >= SEND_IN_FLIGHT) await Promise.race([inFlight.shift()!, closedEarly]);
    }
    await Promise.race([Promise.all(inFlight), closedEarly]);
    return position;
  } finally {
    destination.removeListener('close', onClose);
    destination.removeListener('error', onError);
    await handle.close();
  }
}

/**
 * SHA-256 of an open file (closed afterwards): one read at a time into a pooled 1 MiB buffer,
 * hashed before the next read starts. A stream would read ahead on the thread pool while the
 * main thread hashes, which makes one hash take more than a core and gains little; this way a
 * verification costs about one core (so worker concurrency per core plans capacity), allocates
 * nothing per chunk, and holds at most 1 MiB of the blob in memory.
 */
async function hashFile(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const buffer = sendPool.pop() ?? Buffer.allocUnsafeSlow(SEND_CHUNK);
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    recycle(buffer);
    await handle.close();
  }
  return hash.digest('hex');
}

/**
 * Hex SHA-256 of a file given by its own path, outside any storage root (no path checks): the
 * same reads as `BlobStorage.sha256`, for benchmarks and tools that hash files directly.
 */
export async function sha256OfFile(absolutePath: string): Promise<string> {
  return hashFile(await fs.promises.open(absolutePath, 'r'));
}

/** An OpenedBlob over bytes already in memory (its file is closed). */
function wholeBlob(whole: Buffer, mtimeMs: number): OpenedBlob {
  return {
    size: whole.length,
    mtimeMs,
    bytes: whole,
    stream: () => Readable.from([whole]),
    sendTo: (destination) =>
      new Promise<number>((resolve, reject) => destination.write(whole, (error?: Error | null) => (error ? reject(error) : resolve(whole.length)))),
    close: async () => undefined,
  };
}

/** What the stream path rejects with on abort (Node's AbortError shape), for the whole-bytes path too. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // ENOTDIR: a parent component is a regular file, so the blob cannot exist either.
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function removeQuietly(file: string): Promise<void> {
  await fs.promises.rm(file, { force: true }).catch(() => undefined);
}

/**
 * A Writable over an open file handle that hashes what it writes and fsyncs before it finishes,
 * so "finished" means "durable and hashed". Hashing here avoids a separate transform stage.
 */
function hashingFileWriter(handle: FileHandle, onProgress: ((bytes: number) => void) | undefined, durable: boolean) {
  const hash = createHash('sha256');
  let size = 0;
  const account = (chunk: Uint8Array): void => {
    hash.update(chunk);
    size += chunk.byteLength;
  };
  const writable = new Writable({
    highWaterMark: WRITE_HIGH_WATER_MARK,
    decodeStrings: true,
    writev(chunks, callback) {
      const buffers = chunks.map(({ chunk }) => chunk as Buffer);
      // Start the write on the thread pool first, then hash on this thread while it runs: the
      // buffers are only read by both, and the two costs overlap instead of adding up.
      const written = handle.writev(buffers);
      buffers.forEach(account);
      written.then(() => {
        onProgress?.(size);
        callback();
      }, callback);
    },
    final(callback) {
      // fdatasync: the data and the size, which is what a reader after a crash needs (unless the
      // caller syncs a whole batch later with syncFiles).
      if (!durable) return callback();
      handle.datasync().then(() => callback(), callback);
    },
  });
  return { writable, result: (): WriteResult => ({ size, sha256: hash.digest('hex') }) };
}

export interface FilesystemStorageOptions {
  /** how blobs up to 64 KiB are read and written (see small-file-io.ts); default `sync` */
  smallFileIo?: SmallFileIo;
}

/** Blob storage on a local (or mounted) filesystem. Creates `root` when missing. */
export function createFilesystemStorage(rootPath: string, storageOptions: FilesystemStorageOptions = {}): BlobStorage {
  const small = smallFileOps(storageOptions.smallFileIo ?? 'sync');
  // Only blobs up to the small-file limit take the small-file calls (synchronous by default): a
  // large buffer's read or write would hold the event loop for milliseconds.
  const ioFor = (bytes: number) => (bytes <= SMALL_FILE_LIMIT ? small : smallFileOps('async'));
  const root = path.resolve(rootPath);
  fs.mkdirSync(root, { recursive: true });
  // Symlink checks compare real paths; the root itself may sit behind one (e.g. /tmp on macOS).
  const realRoot = fs.realpathSync.native(root);

  const resolve = (relativePath: string): string => resolveInside(root, realRoot, relativePath);

  async function stat(relativePath: string): Promise<BlobStat | undefined> {
    const absolute = resolve(relativePath);
    try {
      const stats = await fs.promises.stat(absolute);
      return stats.isFile() ? { size: stats.size, mtimeMs: stats.mtimeMs } : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** The blob's regular file, open for reading; BlobMissingError when there is none. */
  async function openRegularFile(relativePath: string): Promise<FileHandle> {
    const absolute = resolve(relativePath);
    let handle: FileHandle;
    try {
      handle = await fs.promises.open(absolute, 'r');
    } catch (error) {
      if (isMissing(error)) throw new BlobMissingError(relativePath);
      throw error;
    }
    const stats = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    if (!stats.isFile()) {
      await handle.close();
      throw new BlobMissingError(relativePath);
    }
    return handle;
  }

  async function createReadStream(relativePath: string): Promise<Readable> {
    // Opening first turns "missing" into a typed error before any byte is promised to a caller.
    const handle = await openRegularFile(relativePath);
    return handle.createReadStream({ highWaterMark: READ_HIGH_WATER_MARK });
  }

  /**
   * A blob of at most `limit` bytes, read whole with the small-file calls; `large` when it is
   * bigger (the caller then streams it), undefined when there is no such file.
   */
  async function readSmall(absolute: string, limit: number): Promise<OpenedBlob | 'large' | undefined> {
    const io = ioFor(limit);
    let fd: number;
    try {
      fd = await io.open(absolute, 'r');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    try {
      // fstat on the descriptor we read from: the size and the bytes come from one inode even when
      // writeAtomic renames a new version over the path meanwhile.
      const stats = await io.fstat(fd);
      if (!stats.isFile()) return undefined;
      if (stats.size > limit) return 'large';
      const bytes = Buffer.allocUnsafe(stats.size);
      let filled = 0;
      while (filled < bytes.length) {
        const bytesRead = await io.read(fd, bytes, filled, bytes.length - filled, filled);
        if (bytesRead === 0) break; // truncated in place meanwhile: serve what is there, consistently
        filled += bytesRead;
      }
      return wholeBlob(filled === bytes.length ? bytes : bytes.subarray(0, filled), stats.mtimeMs);
    } finally {
      await io.close(fd);
    }
  }

  async function open(relativePath: string, options: OpenBlobOptions = {}): Promise<OpenedBlob | undefined> {
    const absolute = resolve(relativePath);
    if ((options.readWholeUpTo ?? 0) > 0) {
      const whole = await readSmall(absolute, options.readWholeUpTo!);
      if (whole !== 'large') return whole;
      // larger: opened again below, as a stream (fstat'ed again on that descriptor)
    }
    let handle: FileHandle;
    try {
      handle = await fs.promises.open(absolute, 'r');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) {
        await handle.close();
        return undefined;
      }
      if (stats.size === 0) {
        // nothing to stream: an empty blob is always "read whole"
        await handle.close();
        return wholeBlob(Buffer.alloc(0), stats.mtimeMs);
      }
      let used = false;
      const use = (): void => {
        if (used) throw new Error('OpenedBlob.stream() / sendTo() may be called once, and not after close()');
        used = true;
      };
      return {
        size: stats.size,
        mtimeMs: stats.mtimeMs,
        sendTo: async (destination) => {
          use();
          return sendFile(handle, stats.size, destination);
        },
        stream: () => {
          use();
          // `end` (inclusive) caps the stream at the size announced: never more bytes than that.
          return handle.createReadStream({ start: 0, end: stats.size - 1, highWaterMark: options.highWaterMark ?? READ_HIGH_WATER_MARK });
        },
        close: async () => {
          if (used) return;
          used = true;
          await handle.close();
        },
      };
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  /** writeAtomic for bytes given whole: no stream machinery, the same guarantees. */
  async function writeWhole(relativePath: string, absolute: string, bytes: Uint8Array, expected: string | undefined, options: WriteAtomicOptions): Promise<WriteResult> {
    const { signal } = options;
    // Hash and size first: a wrong blob is refused before anything touches the disk.
    const result: WriteResult = { size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
    if (options.expectedSize !== undefined && options.expectedSize !== result.size) throw new SizeMismatchError(options.expectedSize, result.size, relativePath);
    if (expected !== undefined && expected !== result.sha256) throw new ChecksumMismatchError(expected, result.sha256, relativePath);
    const io = ioFor(bytes.byteLength);
    const directory = path.dirname(absolute);
    await io.mkdir(directory);
    if (signal?.aborted) throw abortError(signal);
    const temporary = path.join(directory, temporaryName());
    const fd = await io.open(temporary, 'wx');
    let closed = false;
    try {
      let written = 0;
      while (written < bytes.byteLength) written += await io.write(fd, bytes, written, bytes.byteLength - written, written);
      options.onProgress?.(written);
      if (signal?.aborted) throw abortError(signal);
      if (options.durable !== false) await fdatasync(fd);
      closed = true;
      await io.close(fd);
      if (signal?.aborted) throw abortError(signal);
      await io.rename(temporary, absolute);
      return result;
    } catch (error) {
      if (!closed) {
        try {
          await io.close(fd);
        } catch {
          // the write's error is the one to report
        }
      }
      await removeQuietly(temporary);
      throw error;
    }
  }

  async function writeAtomic(
    relativePath: string,
    source: AsyncIterable<Uint8Array> | Readable | Uint8Array,
    options: WriteAtomicOptions = {},
  ): Promise<WriteResult> {
    const absolute = resolve(relativePath);
    const expected = options.expectedSha256 == null ? undefined : normalizeSha256(options.expectedSha256);
    options.signal?.throwIfAborted();
    if (source instanceof Uint8Array) return writeWhole(relativePath, absolute, source, expected, options);
    const directory = path.dirname(absolute);
    await fs.promises.mkdir(directory, { recursive: true });
    // Same directory as the destination: rename(2) is atomic only within one filesystem.
    const temporary = path.join(directory, temporaryName());
    const handle = await fs.promises.open(temporary, 'wx');
    let closed = false;
    try {
      const writer = hashingFileWriter(handle, options.onProgress, options.durable !== false);
      await pipeline(source, writer.writable, options.signal ? { signal: options.signal } : {});
      closed = true;
      await handle.close();
      const result = writer.result();
      if (options.expectedSize !== undefined && options.expectedSize !== result.size) {
        throw new SizeMismatchError(options.expectedSize, result.size, relativePath);
      }
      if (expected !== undefined && expected !== result.sha256) {
        throw new ChecksumMismatchError(expected, result.sha256, relativePath);
      }
      await fs.promises.rename(temporary, absolute);
      return result;
    } catch (error) {
      if (!closed) await handle.close().catch(() => undefined);
      await removeQuietly(temporary);
      throw error;
    }
  }

  async function sweepDirectory(directory: string, cutoff: number): Promise<number> {
    let removed = 0;
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return 0;
      throw error;
    }
    for (const entry of entries) {
      const full = path.join(directory, entry.name);
      // Symlinked directories are not followed: the sweeper must never delete outside the root.
      if (entry.isDirectory()) removed += await sweepDirectory(full, cutoff);
      else if (entry.isFile() && isTemporaryName(entry.name)) {
        const stats = await fs.promises.stat(full).catch(() => undefined);
        if (stats !== undefined && stats.mtimeMs <= cutoff) {
          await removeQuietly(full);
          removed += 1;
        }
      }
    }
    return removed;
  }

  return {
    root,
    resolve,
    stat,
    async exists(relativePath) {
      return (await stat(relativePath)) !== undefined;
    },
    createReadStream,
    open,
    writeAtomic,
    async write(relativePath, data) {
      return writeAtomic(relativePath, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    },
    async remove(relativePath) {
      const absolute = resolve(relativePath);
      try {
        await fs.promises.unlink(absolute);
        return true;
      } catch (error) {
        if (isMissing(error)) return false;
        throw error;
      }
    },
    async sha256(relativePath) {
      return hashFile(await openRegularFile(relativePath));
    },
    async syncFiles(relativePaths) {
      const files = relativePaths.map((p) => resolve(p));
      // Every directory from the file's up to the root: a write may have created any of them
      // (mkdir -p), and a new directory's entry is only durable once its parent is flushed. A
      // batch shares most ancestors, so this adds a handful of fsyncs, not one per file.
      const directories = new Set<string>();
      for (const file of files) {
        for (let dir = path.dirname(file); !directories.has(dir); dir = path.dirname(dir)) {
          directories.add(dir);
          if (dir === root || dir === path.dirname(dir)) break;
        }
      }
      // Many flushes in flight at once: the filesystem folds them into few journal commits.
      // open and close with the small-file calls, the flush itself on the thread pool
      const flush = async (target: string) => {
        const fd = await small.open(target, 'r');
        try {
          await fdatasync(fd);
        } finally {
          await small.close(fd);
        }
      };
      for (let i = 0; i < files.length; i += 64) await Promise.all(files.slice(i, i + 64).map(flush));
      const dirs = [...directories];
      for (let i = 0; i < dirs.length; i += 64) await Promise.all(dirs.slice(i, i + 64).map(flush));
    },

    async sweepTemporaryFiles(olderThanMs) {
      return sweepDirectory(root, Date.now() - olderThanMs);
    },
  };
}
