export { createTopologyClient, type TopologyClient, type TopologyClientOptions, type MetadataInit, type CallOptions } from './topology-client';
export { DEFAULT_POLICIES, type CallMode, type CallPolicy } from './call-policy';
export { createCircuitBreaker, type CircuitBreaker, type CircuitBreakerOptions, type BreakerState } from './circuit-breaker';
export {
  TopologyError,
  AlreadyClaimedError,
  NotFoundError,
  PreconditionFailedError,
  PermissionDeniedError,
  InvalidRequestError,
  TopologyUnavailableError,
  CircuitOpenError,
  ConcurrencyLimitError,
  fromConnectError,
  type ConflictingClaim,
} from './errors';
