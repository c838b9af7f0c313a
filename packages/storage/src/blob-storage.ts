import type { Readable } from 'node:stream';

export interface BlobStat {
  size: number;
  mtimeMs: number;
}

export interface WriteResult {
  size: number;
  /** lowercase hex */
  sha256: string;
}

export interface WriteAtomicOptions {
  /** hex SHA-256 the bytes must hash to; on a mismatch nothing is left behind */
  expectedSha256?: string;
  /** aborting removes the temporary file and rejects with an AbortError */
  signal?: AbortSignal;
  /** called with the running byte count after each chunk is handed to the file */
  onProgress?: (bytes: number) => void;
  /**
   * the number of bytes the source must deliver (e.g. a Content-Length); any other count fails
   * with SizeMismatchError and leaves nothing behind
   */
  expectedSize?: number;
  /**
   * false: skip the fdatasync before the rename. The caller must then call `syncFiles` on the
   * paths before it relies on them (a batch fsyncs its files together, in parallel, which the
   * filesystem journal can fold into far fewer flushes). Default true.
   */
  durable?: boolean;
}

/**
 * One blob opened for reading: `size` comes from the open file itself (fstat), so it always
 * matches the bytes `bytes` / `stream()` deliver, even when the path is replaced meanwhile.
 */
export interface OpenedBlob {
  size: number;
  mtimeMs: number;
  /** the whole blob, when it was at most `readWholeUpTo` bytes (the file is then already closed) */
  bytes?: Buffer;
  /** exactly `size` bytes from the opened file; closes it at the end or on destroy. Call at most once. */
  stream(): Readable;
  /**
   * Writes the blob's bytes (never more than `size`) to `destination` without ending it, through a
   * few reused read buffers (no allocation per chunk), waiting for each write to be flushed, and
   * closes the file. Resolves with the bytes written: fewer than `size` only when the file was
   * truncated in place meanwhile. Rejects when a write fails or `destination` closes early.
   * Use instead of `stream()`, at most once.
   */
  sendTo(destination: NodeJS.WritableStream): Promise<number>;
  /** closes the file when neither `bytes` nor `stream()` is used; idempotent */
  close(): Promise<void>;
}

export interface OpenBlobOptions {
  /** read blobs up to this size whole into `bytes` (default 0: never) */
  readWholeUpTo?: number;
  /** highWaterMark of `stream()` (default 256 KiB) */
  highWaterMark?: number;
}

/**
 * Blobs under one root, addressed by relative paths. Every method refuses paths that could leave
 * the root (UnsafePathError), and writes are atomic: the final path holds the old blob or the new
 * one, never a prefix.
 */
export interface BlobStorage {
  /** absolute */
  readonly root: string;
  /** absolute path inside root; throws UnsafePathError */
  resolve(relativePath: string): string;
  /** undefined when missing (or not a regular file) */
  stat(relativePath: string): Promise<BlobStat | undefined>;
  exists(relativePath: string): Promise<boolean>;
  /** throws BlobMissingError when missing */
  createReadStream(relativePath: string): Promise<Readable>;
  /** opens the blob once for size + bytes (see OpenedBlob); undefined when missing or not a file */
  open(relativePath: string, options?: OpenBlobOptions): Promise<OpenedBlob | undefined>;
  /**
   * Streams into a `.tmp-*` file in the destination directory (created as needed), fsyncs,
   * checks `expectedSha256` when given (ChecksumMismatchError), then renames over the final path.
   * Bytes given whole (a Uint8Array) are written in one go, with the same guarantees.
   */
  writeAtomic(relativePath: string, source: AsyncIterable<Uint8Array> | Readable | Uint8Array, options?: WriteAtomicOptions): Promise<WriteResult>;
  /** atomic too */
  write(relativePath: string, data: Uint8Array | string): Promise<WriteResult>;
  /** true when it existed */
  remove(relativePath: string): Promise<boolean>;
  /** streaming hex digest; BlobMissingError when missing */
  sha256(relativePath: string): Promise<string>;
  /** removes `.tmp-*` files older than `olderThanMs` (left by crashes); returns how many */
  /**
   * Makes written blobs durable: fdatasync of every file (in parallel) and fsync of their
   * directories and every ancestor up to the root (so the renames, and directories the writes
   * created, survive a power loss). For writes made with `durable: false`.
   */
  syncFiles(relativePaths: readonly string[]): Promise<void>;
  sweepTemporaryFiles(olderThanMs: number): Promise<number>;
}
