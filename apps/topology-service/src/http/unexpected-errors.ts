import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { isDatabaseUnavailable } from '@meridian/db';
import type { Logger } from '@meridian/logger';

// Errors that are not ConnectErrors are bugs or infrastructure failures: logged in full here,
// and replaced by a generic INTERNAL (UNAVAILABLE when PostgreSQL cannot be reached) so callers
// never see internals. The outermost interceptor.

export function createUnexpectedErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      const unavailable = isDatabaseUnavailable(error);
      logger.error({ err: error, method: `${req.service.name}/${req.method.name}` }, 'rpc failed unexpectedly');
      throw new ConnectError(unavailable ? 'database unavailable' : 'internal error', unavailable ? Code.Unavailable : Code.Internal);
    }
  };
}
