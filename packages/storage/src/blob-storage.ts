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
  /**
   * Streams into a `.tmp-*` file in the destination directory (created as needed), fsyncs,
   * checks `expectedSha256` when given (ChecksumMismatchError), then renames over the final path.
   */
  writeAtomic(relativePath: string, source: AsyncIterable<Uint8Array> | Readable, options?: WriteAtomicOptions): Promise<WriteResult>;
  /** atomic too */
  write(relativePath: string, data: Uint8Array | string): Promise<WriteResult>;
  /** true when it existed */
  remove(relativePath: string): Promise<boolean>;
  /** streaming hex digest; BlobMissingError when missing */
  sha256(relativePath: string): Promise<string>;
  /** removes `.tmp-*` files older than `olderThanMs` (left by crashes); returns how many */
  sweepTemporaryFiles(olderThanMs: number): Promise<number>;
}
