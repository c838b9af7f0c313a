import { createClient, type Interceptor, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import {
  ClaimService,
  ClassifyService,
  type CellInfo,
  type ClassifyRequest,
  type ClassifyResponse,
  type LeaseRecord,
  type ListLeasesRequest,
  type ListRecordsRequest,
  type Metadata,
  type Record as ClaimRecord,
} from '@meridian/proto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ClassifyRequestSchema, ListLeasesRequestSchema, ListRecordsRequestSchema, MetadataSchema } from '@meridian/proto';
import { DEFAULT_POLICIES, isRetryable, isUnhealthy, pause, type CallMode, type CallPolicy } from './call-policy';
import { createCircuitBreaker, type BreakerState, type CircuitBreakerOptions } from './circuit-breaker';
import { CircuitOpenError, ConcurrencyLimitError, fromConnectError } from './errors';

export interface TopologyClientOptions {
  /** e.g. http://topology.internal:9090 */
  baseUrl: string;
  /** this cell's credential, sent as `Authorization: Bearer …` (never logged by the client) */
  credential: string;
  cellId: bigint | number;
  /** wire protocol (default grpc) */
  protocol?: 'grpc' | 'connect' | 'grpc-web';
  /** calls in flight at once; beyond it calls fail at once with ConcurrencyLimitError (default 200) */
  maxConcurrent?: number;
  breaker?: CircuitBreakerOptions;
  policies?: Partial<Record<CallMode, Partial<CallPolicy>>>;
  /** extra interceptors (tracing, tests) */
  interceptors?: Interceptor[];
  /**
   * largest request message the client sends (default 16 MiB, the service's default read limit):
   * larger ones fail here with RESOURCE_EXHAUSTED instead of being refused unread by the service,
   * which leaves Node's HTTP/2 client holding the unsent body against its session memory
   */
  maxMessageBytes?: number;
}

const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export type MetadataInit = MessageInitShape<typeof MetadataSchema>;
export interface CallOptions {
  /** default: transaction for Begin/Commit/Rollback, background for listing */
  mode?: CallMode;
}

export interface TopologyClient {
  readonly cellId: bigint;
  /** opens a lease; returns its UUID. Throws AlreadyClaimedError with the conflicts on a taken value. */
  beginUpdate(update: { creates?: MetadataInit[]; destroys?: MetadataInit[] }, options?: CallOptions): Promise<string>;
  commitUpdate(leaseUuid: string, options?: CallOptions): Promise<void>;
  rollbackUpdate(leaseUuid: string, options?: CallOptions): Promise<void>;
  listLeases(request?: Omit<MessageInitShape<typeof ListLeasesRequestSchema>, 'cellId' | '$typeName'>, options?: CallOptions): Promise<{ leases: LeaseRecord[]; next: ListLeasesRequest['next'] }>;
  listRecords(request: Omit<MessageInitShape<typeof ListRecordsRequestSchema>, 'cellId' | '$typeName'>, options?: CallOptions): Promise<{ records: ClaimRecord[]; truncated: boolean }>;
  getCells(options?: CallOptions): Promise<CellInfo[]>;
  classify(request: MessageInitShape<typeof ClassifyRequestSchema>, options?: CallOptions): Promise<ClassifyResponse>;
  /** for metrics and status pages */
  stats(): { inFlight: number; breaker: BreakerState };
}

function transportFor(options: TopologyClientOptions): Transport {
  const credential = options.credential;
  const auth: Interceptor = (next) => (req) => {
    req.header.set('authorization', `Bearer ${credential}`);
    return next(req);
  };
  const interceptors = [auth, ...(options.interceptors ?? [])];
  const writeMaxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  // Node's HTTP/2 session counts queued request bodies against maxSessionMemory (10 MB by
  // default); past it the session refuses every new stream. Leave room for a few large calls.
  const nodeOptions = { maxSessionMemory: Math.max(10, Math.ceil((4 * writeMaxBytes) / (1024 * 1024))) };
  const common = { baseUrl: options.baseUrl, interceptors, writeMaxBytes, nodeOptions };
  switch (options.protocol ?? 'grpc') {
    case 'connect':
      return createConnectTransport({ ...common, httpVersion: '2' });
    case 'grpc-web':
      return createGrpcWebTransport({ ...common, httpVersion: '2' });
    default:
      return createGrpcTransport(common);
  }
}

/** Typed client for one cell, with deadlines, retries, a concurrency limit and a circuit breaker. */
export function createTopologyClient(options: TopologyClientOptions): TopologyClient {
  const cellId = BigInt(options.cellId);
  const transport = transportFor(options);
  const claims = createClient(ClaimService, transport);
  const classifier = createClient(ClassifyService, transport);
  const breaker = createCircuitBreaker(options.breaker);
  const maxConcurrent = options.maxConcurrent ?? 200;
  const policies: Record<CallMode, CallPolicy> = {
    transaction: { ...DEFAULT_POLICIES.transaction, ...options.policies?.transaction },
    background: { ...DEFAULT_POLICIES.background, ...options.policies?.background },
  };
  let inFlight = 0;

  async function call<T>(mode: CallMode, run: (timeoutMs: number) => Promise<T>): Promise<T> {
    const policy = policies[mode];
    if (inFlight >= maxConcurrent) throw new ConcurrencyLimitError(maxConcurrent);
    inFlight++;
    try {
      for (let attempt = 1; ; attempt++) {
        const wait = breaker.check();
        if (wait !== undefined) throw new CircuitOpenError(wait);
        try {
          const result = await run(policy.timeoutMs);
          breaker.success();
          return result;
        } catch (error) {
          if (isUnhealthy(error)) breaker.failure();
          else breaker.success(); // a domain answer (ALREADY_EXISTS, …) means the service is fine
          if (!isRetryable(error) || attempt >= policy.attempts) throw fromConnectError(error);
          await pause(policy.backoffMs * attempt);
        }
      }
    } finally {
      inFlight--;
    }
  }

  return {
    cellId,
    async beginUpdate(update, opts) {
      const res = await call(opts?.mode ?? 'transaction', (timeoutMs) =>
        claims.beginUpdate(
          { cellId, createRecords: (update.creates ?? []) as Metadata[], destroyRecords: (update.destroys ?? []) as Metadata[] },
          { timeoutMs },
        ),
      );
      return res.leaseUuid?.value ?? '';
    },
    async commitUpdate(leaseUuid, opts) {
      await call(opts?.mode ?? 'transaction', (timeoutMs) => claims.commitUpdate({ cellId, leaseUuid: { value: leaseUuid } }, { timeoutMs }));
    },
    async rollbackUpdate(leaseUuid, opts) {
      await call(opts?.mode ?? 'transaction', (timeoutMs) => claims.rollbackUpdate({ cellId, leaseUuid: { value: leaseUuid } }, { timeoutMs }));
    },
    async listLeases(request = {}, opts) {
      const res = await call(opts?.mode ?? 'background', (timeoutMs) => claims.listLeases({ ...request, cellId } as ListLeasesRequest, { timeoutMs }));
      return { leases: res.leases, next: res.next };
    },
    async listRecords(request, opts) {
      const res = await call(opts?.mode ?? 'background', (timeoutMs) => claims.listRecords({ ...request, cellId } as ListRecordsRequest, { timeoutMs }));
      return { records: res.records, truncated: res.truncated };
    },
    async getCells(opts) {
      return (await call(opts?.mode ?? 'background', (timeoutMs) => claims.getCells({}, { timeoutMs }))).cells;
    },
    classify(request, opts) {
      return call(opts?.mode ?? 'transaction', (timeoutMs) => classifier.classify(request as ClassifyRequest, { timeoutMs }));
    },
    stats: () => ({ inFlight, breaker: breaker.state() }),
  };
}
