import express, { type Request, type Response } from 'express';
import type { Logger } from '@meridian/logger';
import { UnsafePathError, type BlobStorage } from '@meridian/storage';
import { BATCH_CONTENT_TYPE, MAX_BATCH_IDS, RETRIEVE_BATCH_ROUTE, batchTokenId, encodeFrameHeader, type BatchFrameHeader } from './batch-framing';
import { TransferAuthError } from './errors';
import { TransferErrorCode, parseReplicableId } from './retrieve-path';
import { bearerToken, type RetrieveLookupResult } from './retrieve-router';
import { verifyTransferToken } from './transfer-token';

export interface RetrieveBatchRouterOptions {
  secret: string;
  storage: BlobStorage;
  logger: Logger;
  /** model rows of (replicable, ids); missing ids are simply absent */
  lookupMany: (replicable: string, ids: readonly bigint[]) => Promise<Map<bigint, RetrieveLookupResult>>;
  knownReplicables: () => readonly string[];
}

const WHOLE_READ_LIMIT = 64 * 1024;

function write(res: Response, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = res.write(chunk, (error) => (error ? reject(error) : undefined));
    if (ok) resolve();
    else res.once('drain', () => resolve());
  });
}

/**
 * The primary's batch transfer endpoint (see batch-framing.ts). Request-level problems answer an
 * HTTP status before any frame (400, 401); per-blob problems (gone, file missing, unsafe path)
 * are frames, so one bad blob never fails its neighbours. A blob that shrinks while being sent
 * breaks the framing: the connection is destroyed and the client fails the rest of the batch.
 */
export function createRetrieveBatchRouter(options: RetrieveBatchRouterOptions): express.Router {
  const { storage, logger } = options;
  const router = express.Router();
  router.post(RETRIEVE_BATCH_ROUTE, express.json({ limit: '64kb' }), async (req: Request, res: Response) => {
    const replicable = String(req.params.replicable);
    const raw = (req.body as { ids?: unknown } | undefined)?.ids;
    const ids = Array.isArray(raw) && raw.length > 0 && raw.length <= MAX_BATCH_IDS ? raw.map((v) => parseReplicableId(String(v))) : undefined;
    if (!options.knownReplicables().includes(replicable) || !ids || ids.some((id) => id === undefined)) {
      res.status(400).json({ code: TransferErrorCode.badRequest, message: `expected a known replicable and {"ids": [1..${MAX_BATCH_IDS} positive integer ids]}` });
      return;
    }
    const wanted = ids as bigint[];
    try {
      verifyTransferToken(bearerToken(req.get('authorization')), { secret: options.secret, replicable, id: batchTokenId(wanted) });
    } catch (error) {
      if (error instanceof TransferAuthError) {
        res.status(401).json({ code: TransferErrorCode.unauthorized, reason: error.reason });
        return;
      }
      throw error;
    }
    const found = await options.lookupMany(replicable, wanted);
    res.writeHead(200, { 'Content-Type': BATCH_CONTENT_TYPE, 'Cache-Control': 'no-store' });
    let bytes = 0;
    for (const id of wanted) {
      if (res.destroyed) return;
      const row = found.get(id);
      const frame: BatchFrameHeader = { id: id.toString(), status: 'not_found' };
      if (!row) {
        await write(res, encodeFrameHeader(frame));
        continue;
      }
      let blob;
      try {
        blob = await storage.open(row.blobPath, { readWholeUpTo: WHOLE_READ_LIMIT });
      } catch (error) {
        const unsafe = error instanceof UnsafePathError;
        logger[unsafe ? 'error' : 'warn']({ replicable, id, blobPath: row.blobPath, err: unsafe ? undefined : error }, unsafe ? 'geo retrieve refused an unsafe blob path' : 'geo retrieve failed to open a blob');
        await write(res, encodeFrameHeader({ ...frame, status: unsafe ? 'unsafe_path' : 'error' }));
        continue;
      }
      if (!blob) {
        await write(res, encodeFrameHeader({ ...frame, status: 'file_missing_on_primary' }));
        continue;
      }
      const ok: BatchFrameHeader = { id: frame.id, status: 'ok', size: blob.size, ...(row.checksum ? { sha256: row.checksum.toLowerCase() } : {}) };
      await write(res, encodeFrameHeader(ok));
      if (blob.bytes !== undefined) {
        await blob.close();
        await write(res, blob.bytes);
      } else {
        const sent = await blob.sendTo(res).catch(() => -1).finally(() => blob.close());
        if (sent !== blob.size) {
          logger.warn({ replicable, id, expected: blob.size, sent }, 'blob shrank while being sent: batch cut off');
          res.destroy();
          return;
        }
      }
      bytes += blob.size;
    }
    res.end();
    logger.debug({ replicable, blobs: wanted.length, bytes }, 'geo batch retrieve served');
  });
  return router;
}
