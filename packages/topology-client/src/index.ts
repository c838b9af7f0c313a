export { createTopologyClient, type TopologyClient, type TopologyClientOptions, type MetadataInit, type CallOptions } from './topology-client';
export { DEFAULT_POLICIES, isRetryable, isUnhealthy, type CallMode, type CallPolicy, type CircuitBreakerOptions, type BreakerState } from './call-policy';
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
