import { Code, ConnectError, type HandlerContext, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AdminInputError, AdminNotFoundError, AdminPreconditionError, type GeoContext } from '@meridian/geo';
import type { Logger } from '@meridian/logger';
import { RegistryAdminService } from '@meridian/proto';
import { roleFor, type AuthOptions } from '../auth';
import { createRegistryAdminHandlers } from './registry-admin-handlers';

/** Connect paths of the service: `/meridian.geo.v1.RegistryAdminService/<Method>` on the site API's port. */
export const REGISTRY_ADMIN_PATH = `/${RegistryAdminService.typeName}/`;

/** RPCs a viewer may call; every other one needs the admin token. */
const READ_ONLY = new Set(['ListRegistries', 'GetBulkOperation']);

export interface RegistryAdminLimits {
  /** largest request message read (RESOURCE_EXHAUSTED above) */
  readMaxBytes: number;
  /** largest response message written */
  writeMaxBytes: number;
}

// a request is a type, a filter of ≤ 1,000 ids and a token; a page is ≤ 100 registries
export const DEFAULT_REGISTRY_ADMIN_LIMITS: RegistryAdminLimits = { readMaxBytes: 256 * 1024, writeMaxBytes: 4 * 1024 * 1024 };

/** Same credentials as Bull Board (Bearer, or Basic with the role as user), checked before the body is read. */
function gate(auth: AuthOptions) {
  return (context: HandlerContext): void => {
    const role = roleFor(context.requestHeader.get('authorization') ?? undefined, auth);
    if (!role) throw new ConnectError('missing or unknown credential (Authorization: Bearer <ADMIN_TOKEN or VIEWER_TOKEN>)', Code.Unauthenticated);
    if (role !== 'admin' && !READ_ONLY.has(context.method.name)) {
      throw new ConnectError(`role ${role} may only list registries and read bulk operations; ${context.method.name} needs the admin token`, Code.PermissionDenied);
    }
  };
}

/** Domain errors keep their messages under their Connect codes; anything else is logged and INTERNAL. */
function errorCodes(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      if (error instanceof AdminInputError) throw new ConnectError(error.message, Code.InvalidArgument);
      if (error instanceof AdminNotFoundError) throw new ConnectError(error.message, Code.NotFound);
      if (error instanceof AdminPreconditionError) throw new ConnectError(error.message, Code.FailedPrecondition);
      logger.error({ err: error, rpc: req.method.name }, 'registry admin rpc failed');
      throw new ConnectError('internal error (see the site API log)', Code.Internal);
    }
  };
}

/** Express middleware serving RegistryAdminService (Connect protocol, JSON and binary) on its own paths. */
export function registryAdminMiddleware(context: GeoContext, auth: AuthOptions, limits: Partial<RegistryAdminLimits> = {}): RequestHandler {
  const { readMaxBytes, writeMaxBytes } = { ...DEFAULT_REGISTRY_ADMIN_LIMITS, ...limits };
  const handler = connectNodeAdapter({
    readMaxBytes,
    writeMaxBytes,
    requestGate: gate(auth),
    interceptors: [errorCodes(context.logger)],
    routes(router) {
      router.service(RegistryAdminService, createRegistryAdminHandlers(context));
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    if (!req.path.startsWith(REGISTRY_ADMIN_PATH)) {
      next();
      return;
    }
    handler(req, res);
  };
}
