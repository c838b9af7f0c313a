import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { Logger } from '@meridian/logger';
import { UnsafePathError, type BlobStorage } from '@meridian/storage';
import { BATCH_CONTENT_TYPE, MAX_BATCH_IDS, RETRIEVE_BATCH_ROUTE, batchTokenId, encodeFrameHeader, type BatchFrameHeader } from './batch-framing';
import { TransferAuthError } from './errors';
import { TransferErrorCode, parseReplicableId } from './retrieve-path';
import { jsonBody } from './json-body';
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
/** the JSON body limit: 1,000 ids of 19 digits fit with room to spare */
export const BATCH_BODY_LIMIT = '64kb';

// ids are plain scalars: decimal strings or safe integers (never objects, arrays or booleans)
const batchBody = z.object({
  ids: z
    .array(z.union([z.string().regex(/^[1-9][0-9]{0,18}$/), z.number().int().positive().max(Number.MAX_SAFE_INTEGER)]))
    .min(1)
    .max(MAX_BATCH_IDS),
});

/** The batch's ids, or a message saying what is wrong with the body. */
function parseBatchIds(body: unknown): { ids: bigint[] } | { problem: string } {
  const parsed = batchBody.safeParse(body);
  if (!parsed.success) return { problem: `expected {"ids": [1..${MAX_BATCH_IDS} positive integer ids as strings or numbers]}` };
  const ids = parsed.data.ids.map((v) => parseReplicableId(String(v)));
  if (ids.some((id) => id === undefined)) return { problem: 'an id does not fit a 64-bit integer' };
  const wanted = ids as bigint[];
  if (new Set(wanted).size !== wanted.length) return { problem: 'ids must not repeat' };
  return { ids: wanted };
}

class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

/**
 * Writes one chunk, waiting for 'drain' when the socket buffer is full. Rejects when the client
 * goes away (reset, closed) instead of waiting for a 'drain' that never comes: a handler stuck
 * there would hold its open blob until the garbage collector closed it.
 */
function write(res: Response, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) return reject(new ClientGoneError('the client went away'));
    const ok = res.write(chunk, (error) => (error ? reject(new ClientGoneError(error.message)) : undefined));
    if (ok) return resolve();
    const onClose = () => {
      res.off('drain', onDrain);
      reject(new ClientGoneError('the client went away'));
    };
    const onDrain = () => {
      res.off('close', onClose);
      resolve();
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
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
  router.post(RETRIEVE_BATCH_ROUTE, jsonBody({ limit: BATCH_BODY_LIMIT, logger, route: RETRIEVE_BATCH_ROUTE }), async (req: Request, res: Response) => {
    const replicable = String(req.params.replicable);
    const refuse = (status: number, body: Record<string, string>): void => {
      logger.warn({ route: RETRIEVE_BATCH_ROUTE, replicable, status, code: body.code, reason: body.reason ?? body.message }, 'geo request refused');
      res.status(status).set('Cache-Control', 'no-store').json(body);
    };
    if (!options.knownReplicables().includes(replicable)) {
      return refuse(400, { code: TransferErrorCode.badRequest, message: `unknown replicable ${JSON.stringify(replicable)}` });
    }
    const parsed = parseBatchIds(req.body);
    if ('problem' in parsed) return refuse(400, { code: TransferErrorCode.badRequest, message: parsed.problem });
    const wanted = parsed.ids;
    try {
      await verifyTransferToken(bearerToken(req.get('authorization')), { secret: options.secret, replicable, id: batchTokenId(wanted) });
    } catch (error) {
      if (error instanceof TransferAuthError) return refuse(401, { code: TransferErrorCode.unauthorized, reason: error.reason });
      throw error;
    }
    const found = await options.lookupMany(replicable, wanted);
    res.writeHead(200, { 'Content-Type': BATCH_CONTENT_TYPE, 'Cache-Control': 'no-store' });
    let bytes = 0;
    try {
      for (const id of wanted) {
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
        const opened = blob;
        try {
          const ok: BatchFrameHeader = { id: frame.id, status: 'ok', size: opened.size, ...(row.checksum ? { sha256: row.checksum.toLowerCase() } : {}) };
          await write(res, encodeFrameHeader(ok));
          if (opened.bytes !== undefined) {
            await write(res, opened.bytes);
          } else {
            const sent = await opened.sendTo(res).catch((error: unknown) => {
              if (res.destroyed) throw new ClientGoneError((error as Error).message);
              return -1;
            });
            if (sent !== opened.size) {
              logger.warn({ replicable, id, expected: opened.size, sent }, 'blob shrank while being sent: batch cut off');
              res.destroy();
              return;
            }
          }
        } finally {
          await opened.close(); // idempotent; a blob is never left open, whatever happened
        }
        bytes += opened.size;
      }
    } catch (error) {
      if (!(error instanceof ClientGoneError)) throw error;
      // a reset or closed connection: the secondary retries the batch; nothing to answer
      logger.debug({ replicable, blobs: wanted.length, bytes, reason: error.message }, 'geo batch retrieve: client went away');
      res.destroy();
      return;
    }
    res.end();
    logger.debug({ replicable, blobs: wanted.length, bytes }, 'geo batch retrieve served');
  });
  return router;
}
