import { createHash } from 'node:crypto';

// The batch transfer: `POST /api/v1/geo/retrieve-batch/:replicable` with `{"ids": [...]}` answers
// one frame per id, in request order: a 4-byte big-endian header length, a JSON header, then —
// when the header says `ok` — exactly `size` bytes of the blob. One request carries a whole sync
// job's blobs, so per-blob HTTP overhead is paid once per batch.

export const RETRIEVE_BATCH_ROUTE = '/api/v1/geo/retrieve-batch/:replicable';
export const BATCH_CONTENT_TYPE = 'application/x-meridian-blob-batch';
export const MAX_BATCH_IDS = 1_000;
export const MAX_FRAME_HEADER_BYTES = 4_096;

export type BatchItemStatus = 'ok' | 'not_found' | 'file_missing_on_primary' | 'unsafe_path' | 'error';

export interface BatchFrameHeader {
  id: string;
  status: BatchItemStatus;
  size?: number;
  sha256?: string;
}

export function retrieveBatchPath(replicable: string): string {
  return `/api/v1/geo/retrieve-batch/${encodeURIComponent(replicable)}`;
}

/**
 * The transfer token of a batch is bound to its exact id list: its subject id is a 60-bit
 * digest of the ids in order, so a token cannot be replayed for other blobs.
 */
export function batchTokenId(ids: readonly bigint[]): bigint {
  const digest = createHash('sha256').update(ids.join(',')).digest('hex');
  return BigInt(`0x${digest.slice(0, 15)}`) + 1n;
}

export function encodeFrameHeader(header: BatchFrameHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.allocUnsafe(4 + json.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  return out;
}
