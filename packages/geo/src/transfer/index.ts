export {
  TransferAuthError,
  WeakTransferSecretError,
  FileMissingOnPrimaryError,
  RemoteNotFoundError,
  TransferHttpError,
  TransferTimeoutError,
  type TransferAuthReason,
} from './errors';
export {
  signTransferToken,
  verifyTransferToken,
  transferIdString,
  MIN_TRANSFER_SECRET_LENGTH,
  DEFAULT_TRANSFER_TOKEN_TTL_SECONDS,
  MAX_TRANSFER_TOKEN_LIFETIME_SECONDS,
  type SignTransferTokenOptions,
  type VerifyTransferTokenOptions,
  type TransferTokenClaims,
  type TransferId,
} from './transfer-token';
export { RETRIEVE_ROUTE, CHECKSUM_HEADER, TransferErrorCode, parseReplicableId, retrievePath } from './retrieve-path';
export { createRetrieveRouter, type RetrieveRouterOptions, type RetrieveLookupResult } from './retrieve-router';
export { downloadBlob, DEFAULT_TRANSFER_INACTIVITY_TIMEOUT_MS, type DownloadBlobOptions, type DownloadBlobResult } from './download-blob';
// Storage's error surfaces through downloadBlob, so callers can catch it from here too.
export { ChecksumMismatchError } from '@meridian/storage';
export { RETRIEVE_BATCH_ROUTE, BATCH_CONTENT_TYPE, MAX_BATCH_IDS, batchTokenId, retrieveBatchPath, type BatchFrameHeader } from './batch-framing';
export { createRetrieveBatchRouter, type RetrieveBatchRouterOptions } from './retrieve-batch-router';
export { downloadBatch, type BatchTarget, type BatchItemResult, type DownloadBatchOptions } from './download-batch';
