import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import type { Logger } from '@meridian/logger';

// Errors that are not ConnectErrors are bugs or infrastructure failures: logged in full here,
// and replaced by a generic INTERNAL (UNAVAILABLE when PostgreSQL cannot be reached) so callers
// never see internals. The outermost interceptor.

const POSTGRES_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT', '57P01', '57P03']);

export function createUnexpectedErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      const pgCode = (error as { code?: string }).code;
      const unavailable = pgCode !== undefined && POSTGRES_UNAVAILABLE.has(pgCode);
      logger.error({ err: error, method: `${req.service.name}/${req.method.name}` }, 'rpc failed unexpectedly');
      throw new ConnectError(unavailable ? 'database unavailable' : 'internal error', unavailable ? Code.Unavailable : Code.Internal);
    }
  };
}
