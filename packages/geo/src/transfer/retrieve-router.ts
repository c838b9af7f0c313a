import { pipeline } from 'node:stream/promises';
import express, { type Request, type Response } from 'express';
import type { Logger } from '@meridian/logger';
import { BlobMissingError, UnsafePathError, type BlobStorage } from '@meridian/storage';
import { TransferAuthError, WeakTransferSecretError } from './errors';
import { CHECKSUM_HEADER, RETRIEVE_ROUTE, TransferErrorCode, parseReplicableId } from './retrieve-path';
import { MIN_TRANSFER_SECRET_LENGTH, verifyTransferToken } from './transfer-token';

export interface RetrieveLookupResult {
  /** path of the blob relative to the storage root, as stored on the model row */
  blobPath: string;
  /** hex SHA-256 from the primary's verification state, when it has one */
  checksum?: string | null;
}

export interface RetrieveRouterOptions {
  secret: string;
  storage: BlobStorage;
  logger: Logger;
  /** the model row of (replicable, id), or undefined when there is none */
  lookup: (replicable: string, id: bigint) => Promise<RetrieveLookupResult | undefined>;
  knownReplicables: () => readonly string[];
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/**
 * The primary's transfer endpoint, `GET /api/v1/geo/retrieve/:replicable/:id` (mount at '/').
 * Checks run cheapest and least revealing first: a caller without a valid token learns only
 * whether its request was well-formed, never whether a row or file exists.
 */
export function createRetrieveRouter(options: RetrieveRouterOptions): express.Router {
  // Fail at startup, not with a 500 on the first request.
  if (options.secret.length < MIN_TRANSFER_SECRET_LENGTH) throw new WeakTransferSecretError(MIN_TRANSFER_SECRET_LENGTH);
  const { storage, logger } = options;
  const router = express.Router();

  router.get(RETRIEVE_ROUTE, async (req: Request, res: Response) => {
    const started = performance.now();
    const replicable = String(req.params.replicable);
    const rawId = String(req.params.id);
    const context = { replicable, id: rawId };
    const ms = () => Math.round(performance.now() - started);

    const fail = (status: number, body: Record<string, string>, extra: Record<string, unknown> = {}): void => {
      const level = status >= 500 ? 'error' : 'warn';
      logger[level]({ ...context, status, code: body.code, ms: ms(), ...extra }, 'geo retrieve refused');
      res.status(status).set('Cache-Control', 'no-store').json(body);
    };

    const id = parseReplicableId(rawId);
    if (!options.knownReplicables().includes(replicable)) {
      return fail(400, { code: TransferErrorCode.badRequest, message: `unknown replicable ${JSON.stringify(replicable)}` });
    }
    if (id === undefined) {
      return fail(400, { code: TransferErrorCode.badRequest, message: 'id must be a positive integer' });
    }

    try {
      verifyTransferToken(bearerToken(req.get('authorization')), { secret: options.secret, replicable, id });
    } catch (error) {
      if (error instanceof TransferAuthError) {
        return fail(401, { code: TransferErrorCode.unauthorized, reason: error.reason });
      }
      throw error;
    }

    let found: RetrieveLookupResult | undefined;
    try {
      found = await options.lookup(replicable, id);
    } catch (error) {
      return fail(500, { code: TransferErrorCode.internal, message: 'lookup failed' }, { err: error });
    }
    if (found === undefined) return fail(404, { code: TransferErrorCode.notFound, message: `${replicable} ${id} not found` });

    const missing = () =>
      fail(404, { code: TransferErrorCode.fileMissingOnPrimary, message: `${replicable} ${id} file not found` }, { blobPath: found.blobPath });
    try {
      // resolve() first: a path that leaves the root must never reach stat or open.
      storage.resolve(found.blobPath);
      const stat = await storage.stat(found.blobPath);
      if (stat === undefined) return missing();
      const stream = await storage.createReadStream(found.blobPath);
      res.status(200);
      res.set({
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(stat.size),
        'Cache-Control': 'no-store',
      });
      if (found.checksum) res.set(CHECKSUM_HEADER, found.checksum.toLowerCase());
      if (req.method === 'HEAD') {
        stream.destroy();
        res.end();
        return;
      }
      await pipeline(stream, res);
      logger.debug({ ...context, status: 200, bytes: stat.size, ms: ms() }, 'geo retrieve served');
    } catch (error) {
      if (error instanceof UnsafePathError) {
        return fail(500, { code: TransferErrorCode.unsafePath, message: 'blob path is outside the storage root' }, { blobPath: found.blobPath });
      }
      // The file vanished between stat and open (deleted or replaced): same as never there.
      if (error instanceof BlobMissingError && !res.headersSent) return missing();
      if (res.headersSent) {
        // Mid-stream: the client sees a short body and retries; the status line is already gone.
        logger.warn({ ...context, status: 200, ms: ms(), err: error }, 'geo retrieve aborted mid-stream');
        res.destroy();
        return;
      }
      return fail(500, { code: TransferErrorCode.internal, message: 'could not read the blob' }, { err: error });
    }
  });

  return router;
}
