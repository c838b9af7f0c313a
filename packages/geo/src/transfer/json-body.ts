import express, { type RequestHandler } from 'express';
import type { Logger } from '@meridian/logger';
import { TransferErrorCode } from './retrieve-path';

/**
 * `express.json` for one route, with its client errors answered here instead of reaching the
 * app's error handler (which answers 500 and logs a stack): malformed JSON → 400, a body over
 * `limit` → 413, each with a message and a warning-level log line. Anything else (a bug) still
 * goes on to `next(error)`.
 */
export function jsonBody(options: { limit: string; logger: Logger; route: string }): RequestHandler {
  const parse = express.json({ limit: options.limit });
  return (req, res, next) => {
    parse(req, res, (error?: unknown) => {
      if (error === undefined || error === null) return next();
      const { status, type } = error as { status?: unknown; type?: unknown };
      if (typeof status !== 'number' || status < 400 || status >= 500) return next(error);
      const tooLarge = status === 413 || type === 'entity.too.large';
      const answer = tooLarge
        ? { status: 413, code: 'payload_too_large', message: `the request body is over the ${options.limit} limit` }
        : { status: 400, code: TransferErrorCode.badRequest, message: `the request body is not valid JSON: ${(error as Error).message}` };
      options.logger.warn({ route: options.route, status: answer.status, code: answer.code, type }, 'geo request refused');
      res.status(answer.status).set('Cache-Control', 'no-store').json({ code: answer.code, message: answer.message });
    });
  };
}
