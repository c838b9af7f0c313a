import { Code, createClient, type Interceptor, type Transport } from '@connectrpc/connect';
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
import { BrokenCircuitError, BulkheadRejectedError, CircuitState, TaskCancelledError } from 'cockatiel';
import { createCallPolicies, DEFAULT_POLICIES, type BreakerState, type CallMode, type CallPolicy, type CircuitBreakerOptions } from './call-policy';
import { AlreadyClaimedError, CircuitOpenError, ConcurrencyLimitError, fromConnectError, TopologyUnavailableError } from './errors';

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
  /**
   * Opens the HTTP/2 connection and warms both ends with a cheap ListLeases (created after an
   * hour from now, so it reads nothing), background deadline. Upstream does this at boot: a cold
   * first call would otherwise miss the 0.3 s in-transaction deadline and trip the breaker.
   */
  warmUp(): Promise<void>;
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
  const maxConcurrent = options.maxConcurrent ?? 200;
  const policies: Record<CallMode, CallPolicy> = {
    transaction: { ...DEFAULT_POLICIES.transaction, ...options.policies?.transaction },
    background: { ...DEFAULT_POLICIES.background, ...options.policies?.background },
  };
  const openMs = options.breaker?.openMs ?? 10_000;
  const resilience = createCallPolicies({ policies, breaker: options.breaker, maxConcurrent });

  async function call<T>(mode: CallMode, run: (timeoutMs: number, signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await resilience.run(mode, ({ signal, timeoutMs }) => run(timeoutMs, signal));
    } catch (error) {
      if (error instanceof BulkheadRejectedError) throw new ConcurrencyLimitError(maxConcurrent);
      if (error instanceof BrokenCircuitError) throw new CircuitOpenError(openMs);
      if (error instanceof TaskCancelledError) {
        throw new TopologyUnavailableError(`no answer within the ${policies[mode].timeoutMs} ms deadline`, Code.DeadlineExceeded, { cause: error });
      }
      throw fromConnectError(error);
    }
  }

  const breakerState = (): BreakerState => {
    switch (resilience.breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.Open:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return 'isolated';
    }
  };

  return {
    cellId,
    async beginUpdate(update, opts) {
      let tries = 0;
      try {
        const res = await call(opts?.mode ?? 'transaction', (timeoutMs, signal) => {
          tries++;
          return claims.beginUpdate(
            { cellId, createRecords: (update.creates ?? []) as Metadata[], destroyRecords: (update.destroys ?? []) as Metadata[] },
            { timeoutMs, signal },
          );
        });
        return res.leaseUuid?.value ?? '';
      } catch (error) {
        // BeginUpdate is not idempotent: an earlier try may have reached the service and now holds
        // these very values under an orphan lease (recovery rolls it back). "Taken" is not known.
        if (error instanceof AlreadyClaimedError && tries > 1) {
          throw new TopologyUnavailableError(
            `ALREADY_EXISTS on try ${tries} of BeginUpdate: the values may be held by this call's own earlier try; retry later`,
            Code.Unavailable,
            { cause: error },
          );
        }
        throw error;
      }
    },
    async commitUpdate(leaseUuid, opts) {
      await call(opts?.mode ?? 'transaction', (timeoutMs, signal) => claims.commitUpdate({ cellId, leaseUuid: { value: leaseUuid } }, { timeoutMs, signal }));
    },
    async rollbackUpdate(leaseUuid, opts) {
      await call(opts?.mode ?? 'transaction', (timeoutMs, signal) => claims.rollbackUpdate({ cellId, leaseUuid: { value: leaseUuid } }, { timeoutMs, signal }));
    },
    async listLeases(request = {}, opts) {
      const res = await call(opts?.mode ?? 'background', (timeoutMs, signal) => claims.listLeases({ ...request, cellId } as ListLeasesRequest, { timeoutMs, signal }));
      return { leases: res.leases, next: res.next };
    },
    async listRecords(request, opts) {
      const res = await call(opts?.mode ?? 'background', (timeoutMs, signal) => claims.listRecords({ ...request, cellId } as ListRecordsRequest, { timeoutMs, signal }));
      return { records: res.records, truncated: res.truncated };
    },
    async getCells(opts) {
      return (await call(opts?.mode ?? 'background', (timeoutMs, signal) => claims.getCells({}, { timeoutMs, signal }))).cells;
    },
    classify(request, opts) {
      return call(opts?.mode ?? 'transaction', (timeoutMs, signal) => classifier.classify(request as ClassifyRequest, { timeoutMs, signal }));
    },
    async warmUp() {
      const inAnHour = BigInt(Math.floor(Date.now() / 1000) + 3600);
      await call('background', (timeoutMs, signal) => claims.listLeases({ cellId, limit: 1, createdAfter: { seconds: inAnHour, nanos: 0 } } as ListLeasesRequest, { timeoutMs, signal }));
    },
    stats: () => ({ inFlight: maxConcurrent - resilience.bulkhead.executionSlots, breaker: breakerState() }),
  };
}
