export type { BlobStat, BlobStorage, WriteAtomicOptions, WriteResult } from './blob-storage';
export { createFilesystemStorage } from './filesystem-storage';
export { BlobMissingError, ChecksumMismatchError, UnsafePathError } from './errors';
export { sha256Hex, normalizeSha256 } from './sha256';
export { TEMPORARY_PREFIX, isTemporaryName } from './temporary-files';
