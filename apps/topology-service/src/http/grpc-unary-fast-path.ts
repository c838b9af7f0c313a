import type http2 from 'node:http2';
import { create, fromBinary, isMessage, toBinary, type DescMethod, type DescService } from '@bufbuild/protobuf';
import {
  Code,
  ConnectError,
  createContextValues,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from '@connectrpc/connect';
import { setTrailerStatus } from '@connectrpc/connect/protocol-grpc';
import type { connectNodeAdapter } from '@connectrpc/connect-node';

type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;
// only HTTP/2 requests take the fast path
type NodeRequest = http2.Http2ServerRequest;
type NodeResponse = http2.Http2ServerResponse;

// The common case, a unary gRPC call over HTTP/2 with an uncompressed protobuf body, served
// without Connect's general machinery (async-iterable pipelines, three Headers objects, two abort
// controllers and a deadline signal per call), which cost several times more CPU than the RPC's
// own work. Everything else — Connect and gRPC-Web, HTTP/1.1, compressed or JSON bodies, bad
// timeouts, unknown paths, streaming methods — goes to Connect unchanged. The wire is the same as
// Connect's (checked by test/fast-path.test.ts): headers `content-type: application/grpc+proto`,
// one uncompressed envelope, trailers `grpc-status`, `grpc-message` and `grpc-status-details-bin`
// written by Connect's own setTrailerStatus, and the same protocol error messages and codes.
// Requests run through the same interceptors as on the Connect path. Handlers get a
// HandlerContext whose signal, response headers and trailers are created only when asked for.
// (Connect does not race unary handlers against grpc-timeout either: the deadline only aborts
// the context signal.)

const GRPC_CONTENT_TYPES = new Set(['application/grpc', 'application/grpc+proto']);
const TIMEOUT_RE = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const RESPONSE_HEADERS = { 'content-type': 'application/grpc+proto' } as const;

type AnyUnaryImpl = (message: never, context: HandlerContext) => unknown;

interface Route {
  service: DescService;
  method: DescMethod & { methodKind: 'unary' };
  next: (req: UnaryRequest) => Promise<UnaryResponse>;
}

export interface FastPathService {
  service: DescService;
  /** the same implementation object given to Connect's router (methods by local name) */
  impl: object;
}

/** The context handed to implementations: the costly parts are made only when used. */
class LazyHandlerContext implements HandlerContext {
  readonly protocolName = 'grpc';
  #signal: AbortController | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  constructor(
    readonly method: DescMethod,
    readonly service: DescService,
    readonly requestMethod: string,
    readonly requestHeader: Headers,
    readonly values: ContextValues,
    readonly url: string,
    private readonly deadline: number | undefined,
    private readonly nodeRequest: NodeRequest,
  ) {}
  get signal(): AbortSignal {
    if (!this.#signal) {
      const controller = new AbortController();
      this.#signal = controller;
      const abort = () => controller.abort(new ConnectError('operation was aborted', Code.Canceled));
      if (this.nodeRequest.destroyed) abort();
      else this.nodeRequest.once('close', abort);
      if (this.deadline !== undefined) {
        setTimeout(() => controller.abort(new ConnectError('the operation timed out', Code.DeadlineExceeded)), Math.max(0, this.deadline - Date.now())).unref();
      }
    }
    return this.#signal.signal;
  }
  readonly timeoutMs = (): number | undefined => (this.deadline === undefined ? undefined : this.deadline - Date.now());
  get responseHeader(): Headers {
    return (this.#responseHeader ??= new Headers());
  }
  get responseTrailer(): Headers {
    return (this.#responseTrailer ??= new Headers());
  }
  /** headers and trailers an implementation set, if any */
  extra(): { header: Headers | undefined; trailer: Headers | undefined } {
    return { header: this.#responseHeader, trailer: this.#responseTrailer };
  }
}

class FastResponse implements UnaryResponse {
  readonly stream = false as const;
  #header: Headers | undefined;
  #trailer: Headers | undefined;
  constructor(
    readonly service: DescService,
    readonly method: DescMethod & { methodKind: 'unary' },
    readonly message: UnaryResponse['message'],
    header: Headers | undefined,
    trailer: Headers | undefined,
  ) {
    this.#header = header;
    this.#trailer = trailer;
  }
  get header(): Headers {
    return (this.#header ??= new Headers());
  }
  get trailer(): Headers {
    return (this.#trailer ??= new Headers());
  }
  /** what interceptors or the implementation added, without creating empty Headers */
  extra(): { header: Headers | undefined; trailer: Headers | undefined } {
    return { header: this.#header, trailer: this.#trailer };
  }
}

function webHeaders(node: http2.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const key in node) {
    if (key.charCodeAt(0) === 58 /* ':' pseudo-header */) continue;
    const value = node[key];
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else if (value !== undefined) headers.set(key, value);
  }
  return headers;
}

function toNodeHeaders(target: Record<string, string>, headers: Headers | undefined): void {
  headers?.forEach((value, key) => {
    target[key] = value;
  });
}

/**
 * Wraps Connect's node handler: unary gRPC calls to the given services are served here, the rest
 * by `fallback`.
 */
export function createGrpcUnaryFastPath(options: {
  services: FastPathService[];
  interceptors: Interceptor[];
  readMaxBytes: number;
  fallback: NodeHandlerFn;
}): NodeHandlerFn {
  const routes = new Map<string, Route>();
  for (const { service, impl } of options.services) {
    for (const method of service.methods) {
      const fn = (impl as Record<string, unknown>)[method.localName];
      if (method.methodKind !== 'unary' || typeof fn !== 'function') continue;
      const unary = method as DescMethod & { methodKind: 'unary' };
      const implFn = (fn as AnyUnaryImpl).bind(impl);
      // innermost step: the implementation, as Connect calls it (after the interceptors)
      const invoke = async (req: UnaryRequest): Promise<UnaryResponse> => {
        const context = req as unknown as { fastContext?: LazyHandlerContext };
        const ctx = context.fastContext!;
        const result = await implFn(req.message as never, ctx);
        const message = isMessage(result, unary.output) ? result : create(unary.output, result as never);
        const extra = ctx.extra();
        return new FastResponse(service, unary, message, extra.header, extra.trailer);
      };
      let next: (req: UnaryRequest) => Promise<UnaryResponse> = invoke;
      for (const interceptor of [...options.interceptors].reverse()) next = interceptor(next as never) as typeof next;
      routes.set(`/${service.typeName}/${method.name}`, { service, method: unary, next });
    }
  }

  function respond(res: NodeResponse, message: Uint8Array | undefined, error: ConnectError | undefined, extra?: { header: Headers | undefined; trailer: Headers | undefined }): void {
    if (res.stream.destroyed || res.writableEnded) return;
    const head: Record<string, string> = { ...RESPONSE_HEADERS };
    toNodeHeaders(head, extra?.header);
    const trailer: Record<string, string> = {};
    toNodeHeaders(trailer, extra?.trailer);
    const status = new Headers();
    setTrailerStatus(status, error);
    toNodeHeaders(trailer, status);
    res.writeHead(200, head);
    res.addTrailers(trailer);
    if (message) {
      const framed = Buffer.allocUnsafe(5 + message.byteLength);
      framed[0] = 0;
      framed.writeUInt32BE(message.byteLength, 1);
      framed.set(message, 5);
      res.end(framed);
    } else {
      res.end();
    }
  }

  function asConnectError(error: unknown): ConnectError {
    return error instanceof ConnectError ? error : new ConnectError('internal error', Code.Internal, undefined, undefined, error);
  }

  async function serve(route: Route, req: NodeRequest, res: NodeResponse, body: Buffer, deadline: number | undefined): Promise<void> {
    // exactly one uncompressed envelope, as Connect requires of a unary request
    if (body.length === 0) {
      respond(res, undefined, new ConnectError('protocol error: missing input message for unary method', Code.Unimplemented));
      return;
    }
    if (body.length < 5 || body.length < 5 + body.readUInt32BE(1)) {
      respond(res, undefined, new ConnectError('protocol error: incomplete envelope', Code.InvalidArgument));
      return;
    }
    const length = body.readUInt32BE(1);
    if (body.length > 5 + length) {
      respond(res, undefined, new ConnectError('protocol error: received extra input message for unary method', Code.Unimplemented));
      return;
    }
    if ((body[0]! & 0b01) === 0b01) {
      respond(res, undefined, new ConnectError('received compressed envelope, but do not know how to decompress', Code.Internal));
      return;
    }
    let input;
    try {
      input = fromBinary(route.method.input, body.subarray(5));
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      respond(res, undefined, new ConnectError(`parse binary: ${m}`, Code.Internal));
      return;
    }
    const header = webHeaders(req.headers);
    const contextValues = createContextValues();
    const url = `http://${req.headers[':authority'] ?? 'localhost'}${req.url}`;
    const ctx = new LazyHandlerContext(route.method, route.service, 'POST', header, contextValues, url, deadline, req);
    const request = {
      stream: false as const,
      service: route.service,
      method: route.method,
      requestMethod: 'POST',
      url,
      header,
      contextValues,
      message: input,
      fastContext: ctx,
      get signal() {
        return ctx.signal;
      },
    };
    let response: UnaryResponse;
    try {
      response = await route.next(request as unknown as UnaryRequest);
    } catch (error) {
      const extra = ctx.extra();
      respond(res, undefined, asConnectError(error), extra);
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = toBinary(route.method.output, response.message);
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      respond(res, undefined, new ConnectError(`serialize binary: ${m}`, Code.Internal));
      return;
    }
    respond(res, bytes, undefined, response instanceof FastResponse ? response.extra() : { header: response.header, trailer: response.trailer });
  }

  return (anyReq, anyRes) => {
    const route = anyReq.httpVersionMajor === 2 && anyReq.method === 'POST' ? routes.get(anyReq.url ?? '') : undefined;
    const req = anyReq as NodeRequest;
    const res = anyRes as unknown as NodeResponse;
    const headers = req.headers;
    const contentType = headers['content-type'];
    const encoding = headers['grpc-encoding'];
    const timeout = headers['grpc-timeout'];
    const timeoutMatch = typeof timeout === 'string' ? TIMEOUT_RE.exec(timeout) : null;
    if (
      !route ||
      typeof contentType !== 'string' ||
      !GRPC_CONTENT_TYPES.has(contentType.toLowerCase()) ||
      (encoding !== undefined && encoding !== 'identity') ||
      (timeout !== undefined && !timeoutMatch)
    ) {
      options.fallback(anyReq, anyRes);
      return;
    }
    const deadline = timeoutMatch ? Date.now() + TIMEOUT_UNIT_MS[timeoutMatch[2]!]! * Number(timeoutMatch[1]) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    let checked = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      chunks.push(chunk);
      size += chunk.length;
      if (!checked && size >= 5) {
        checked = true;
        const first = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        const declared = first.readUInt32BE(1);
        if (declared > options.readMaxBytes) {
          failed = true;
          chunks.length = 0;
          respond(res, undefined, new ConnectError(`message size ${declared} is larger than configured readMaxBytes ${options.readMaxBytes}`, Code.ResourceExhausted));
        }
      }
    });
    req.on('end', () => {
      if (failed) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      serve(route, req, res, body, deadline).catch((error: unknown) => {
        respond(res, undefined, asConnectError(error));
      });
    });
  };
}
