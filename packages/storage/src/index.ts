export type { BlobStat, BlobStorage, OpenBlobOptions, OpenedBlob, WriteAtomicOptions, WriteResult } from './blob-storage';
export { createFilesystemStorage, sha256OfFile, type FilesystemStorageOptions } from './filesystem-storage';
export { SMALL_FILE_LIMIT, type SmallFileIo } from './small-file-io';
export { BlobMissingError, ChecksumMismatchError, SizeMismatchError, UnsafePathError } from './errors';
export { sha256Hex, normalizeSha256 } from './sha256';
export { TEMPORARY_PREFIX, isTemporaryName } from './temporary-files';
