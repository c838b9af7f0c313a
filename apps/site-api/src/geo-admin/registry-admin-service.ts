import { Code, ConnectError, type HandlerContext, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, type Registry } from 'prom-client';
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

type Count = (rpc: string, code: Code | 'ok') => void;

/** snake_case code names, as Connect writes them on the wire (`permission_denied`) */
const codeName = (code: Code | 'ok') => (code === 'ok' ? 'ok' : Code[code].replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase());

/** Same credentials as Bull Board (Bearer, or Basic with the role as user), checked before the body is read. */
function gate(auth: AuthOptions, count: Count) {
  return (context: HandlerContext): void => {
    const role = roleFor(context.requestHeader.get('authorization') ?? undefined, auth);
    if (!role) {
      count(context.method.name, Code.Unauthenticated);
      throw new ConnectError('missing or unknown credential (Authorization: Bearer <ADMIN_TOKEN or VIEWER_TOKEN>)', Code.Unauthenticated);
    }
    if (role !== 'admin' && !READ_ONLY.has(context.method.name)) {
      count(context.method.name, Code.PermissionDenied);
      throw new ConnectError(`role ${role} may only list registries and read bulk operations; ${context.method.name} needs the admin token`, Code.PermissionDenied);
    }
  };
}

/** The domain error's Connect code, keeping its message; anything else is logged and INTERNAL. */
function toConnectError(error: unknown, rpc: string, logger: Logger): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof AdminInputError) return new ConnectError(error.message, Code.InvalidArgument);
  if (error instanceof AdminNotFoundError) return new ConnectError(error.message, Code.NotFound);
  if (error instanceof AdminPreconditionError) return new ConnectError(error.message, Code.FailedPrecondition);
  logger.error({ err: error, rpc }, 'registry admin rpc failed');
  return new ConnectError('internal error (see the site API log)', Code.Internal);
}

function errorCodes(logger: Logger, count: Count): Interceptor {
  return (next) => async (req) => {
    try {
      const response = await next(req);
      count(req.method.name, 'ok');
      return response;
    } catch (error) {
      const connectError = toConnectError(error, req.method.name, logger);
      count(req.method.name, connectError.code);
      throw connectError;
    }
  };
}

/** `geo_registry_admin_requests_total{rpc, code}` on the site API's /metrics, when given its registry. */
function requestCounter(registry: Registry | undefined): Count {
  if (!registry) return () => undefined;
  const counter = new Counter({
    name: 'geo_registry_admin_requests_total',
    help: 'registry admin RPCs answered, by RPC and Connect code',
    labelNames: ['rpc', 'code'],
    registers: [registry],
  });
  return (rpc, code) => counter.inc({ rpc, code: codeName(code) });
}

/** Express middleware serving RegistryAdminService (Connect protocol, JSON and binary) on its own paths. */
export interface RegistryAdminOptions extends Partial<RegistryAdminLimits> {
  /** the site API's metrics registry (request counter) */
  metrics?: Registry;
}

export function registryAdminMiddleware(context: GeoContext, auth: AuthOptions, options: RegistryAdminOptions = {}): RequestHandler {
  const { readMaxBytes, writeMaxBytes } = { ...DEFAULT_REGISTRY_ADMIN_LIMITS, ...options };
  const count = requestCounter(options.metrics);
  const handler = connectNodeAdapter({
    readMaxBytes,
    writeMaxBytes,
    requestGate: gate(auth, count),
    interceptors: [errorCodes(context.logger, count)],
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
