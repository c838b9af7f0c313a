import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStat, BlobStorage, WriteAtomicOptions, WriteResult } from './blob-storage';
import { BlobMissingError, ChecksumMismatchError } from './errors';
import { resolveInside } from './safe-path';
import { normalizeSha256 } from './sha256';
import { isTemporaryName, temporaryName } from './temporary-files';

// Chunks queue up to this much before the writer applies backpressure: large enough that the
// network read and the disk write overlap, small enough to never hold a whole blob in memory.
const WRITE_HIGH_WATER_MARK = 1024 * 1024;

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
function hashingFileWriter(handle: FileHandle, onProgress: ((bytes: number) => void) | undefined) {
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
      // fdatasync: the data and the size, which is what a reader after a crash needs.
      handle.datasync().then(() => callback(), callback);
    },
  });
  return { writable, result: (): WriteResult => ({ size, sha256: hash.digest('hex') }) };
}

/** Blob storage on a local (or mounted) filesystem. Creates `root` when missing. */
export function createFilesystemStorage(rootPath: string): BlobStorage {
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

  async function createReadStream(relativePath: string): Promise<Readable> {
    const absolute = resolve(relativePath);
    // Opening first turns "missing" into a typed error before any byte is promised to a caller.
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
    return handle.createReadStream({ highWaterMark: 256 * 1024 });
  }

  async function writeAtomic(
    relativePath: string,
    source: AsyncIterable<Uint8Array> | Readable,
    options: WriteAtomicOptions = {},
  ): Promise<WriteResult> {
    const absolute = resolve(relativePath);
    const expected = options.expectedSha256 == null ? undefined : normalizeSha256(options.expectedSha256);
    options.signal?.throwIfAborted();
    const directory = path.dirname(absolute);
    await fs.promises.mkdir(directory, { recursive: true });
    // Same directory as the destination: rename(2) is atomic only within one filesystem.
    const temporary = path.join(directory, temporaryName());
    const handle = await fs.promises.open(temporary, 'wx');
    let closed = false;
    try {
      const writer = hashingFileWriter(handle, options.onProgress);
      await pipeline(source, writer.writable, options.signal ? { signal: options.signal } : {});
      closed = true;
      await handle.close();
      const result = writer.result();
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
    writeAtomic,
    async write(relativePath, data) {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      return writeAtomic(relativePath, (async function* () {
        yield bytes;
      })());
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
      const stream = await createReadStream(relativePath);
      const hash = createHash('sha256');
      for await (const chunk of stream) hash.update(chunk as Buffer);
      return hash.digest('hex');
    },
    async sweepTemporaryFiles(olderThanMs) {
      return sweepDirectory(root, Date.now() - olderThanMs);
    },
  };
}
