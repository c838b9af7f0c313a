/** A blob path that could reach outside the storage root (or is not a blob path at all). */
export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
  constructor(
    readonly relativePath: string,
    reason: string,
  ) {
    // JSON.stringify keeps NUL bytes and control characters visible in logs.
    super(`unsafe blob path ${JSON.stringify(relativePath)}: ${reason}`);
  }
}

/** The blob does not exist under the storage root. */
export class BlobMissingError extends Error {
  override readonly name = 'BlobMissingError';
  constructor(readonly relativePath: string) {
    super(`blob ${JSON.stringify(relativePath)} does not exist`);
  }
}

/** The bytes written do not hash to the expected SHA-256; nothing was left at the final path. */
export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly relativePath?: string,
  ) {
    super(`checksum mismatch${relativePath === undefined ? '' : ` for ${JSON.stringify(relativePath)}`}: expected sha256 ${expected}, got ${actual}`);
  }
}

/** The source delivered a different number of bytes than announced; nothing was left at the final path. */
export class SizeMismatchError extends Error {
  override readonly name = 'SizeMismatchError';
  constructor(
    readonly expected: number,
    readonly actual: number,
    readonly relativePath?: string,
  ) {
    super(`size mismatch${relativePath === undefined ? '' : ` for ${JSON.stringify(relativePath)}`}: expected ${expected} bytes, got ${actual}`);
  }
}
