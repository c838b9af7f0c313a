import express, { type Request, type Response } from 'express';
import type { Logger } from '@meridian/logger';
import { UnsafePathError, type BlobStorage, type OpenedBlob } from '@meridian/storage';
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

/** Blobs up to this size are read whole and sent with the headers in one write. */
const WHOLE_READ_LIMIT = 64 * 1024;

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
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
      await verifyTransferToken(bearerToken(req.get('authorization')), { secret: options.secret, replicable, id });
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
    let blob: OpenedBlob | undefined;
    try {
      // open() resolves first: a path that leaves the root never reaches open(2). Size and bytes
      // come from the one open file, so Content-Length matches the body even when the blob is
      // replaced (renamed over) while it is being served.
      blob = await storage.open(found.blobPath, { readWholeUpTo: WHOLE_READ_LIMIT });
      if (blob === undefined) return missing();
      const headers: Record<string, string> = {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(blob.size),
        'Cache-Control': 'no-store',
      };
      if (found.checksum) headers[CHECKSUM_HEADER] = found.checksum.toLowerCase();
      res.writeHead(200, headers);
      if (req.method === 'HEAD' || blob.bytes !== undefined) {
        // Small blobs were read whole: headers and body leave in one write.
        await blob.close();
        res.end(req.method === 'HEAD' ? undefined : blob.bytes);
      } else {
        const socket = res.socket;
        const sent = await blob.sendTo(res);
        if (sent !== blob.size) {
          // Truncated in place while being read: the body ended short of Content-Length. Closing
          // the connection tells the client at once (instead of after its inactivity timeout).
          socket?.destroy();
          logger.warn({ ...context, status: 200, bytes: sent, expected: blob.size, ms: ms() }, 'geo retrieve blob shrank while being served');
          return;
        }
        res.end();
      }
      logger.debug({ ...context, status: 200, bytes: blob.size, ms: ms() }, 'geo retrieve served');
    } catch (error) {
      if (error instanceof UnsafePathError) {
        return fail(500, { code: TransferErrorCode.unsafePath, message: 'blob path is outside the storage root' }, { blobPath: found.blobPath });
      }
      if (blob !== undefined) await blob.close().catch(() => undefined);
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
