import { Code, ConnectError } from '@connectrpc/connect';
import {
  bulkhead,
  circuitBreaker,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
} from 'cockatiel';

// Deadlines and tries per kind of call, matching the upstream client: a claim inside a cell's
// database transaction must fail fast (0.3 s, 2 tries, 0.1 s base pause) because it holds a
// connection; background work (verification, bulk claims, recovery) can wait (10 s, 3 tries,
// 0.5 s). The policies themselves are cockatiel's: bulkhead → retry → circuit breaker → timeout.

export interface CallPolicy {
  timeoutMs: number;
  attempts: number;
  /** first pause between tries; later pauses grow exponentially */
  backoffMs: number;
}

export type CallMode = 'transaction' | 'background';

export const DEFAULT_POLICIES: Record<CallMode, CallPolicy> = {
  transaction: { timeoutMs: 300, attempts: 2, backoffMs: 100 },
  background: { timeoutMs: 10_000, attempts: 3, backoffMs: 500 },
};

export interface CircuitBreakerOptions {
  /** consecutive unhealthy failures that open the circuit (default 5) */
  failureThreshold?: number;
  /** how long it stays open before one probe call (default 10 s) */
  openMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

const RETRYABLE = new Set([Code.DeadlineExceeded, Code.Unavailable]);
// failures that say something about the service's health (a domain answer says it is healthy)
const UNHEALTHY = new Set([Code.DeadlineExceeded, Code.Unavailable, Code.Internal, Code.Unknown, Code.ResourceExhausted]);

const codeOf = (error: unknown) => (error instanceof TaskCancelledError ? Code.DeadlineExceeded : ConnectError.from(error).code);

export function isRetryable(error: unknown): boolean {
  return RETRYABLE.has(codeOf(error));
}

export function isUnhealthy(error: unknown): boolean {
  return UNHEALTHY.has(codeOf(error));
}

export interface CallPolicies {
  /** runs `fn` with the mode's deadline (as an AbortSignal and in ms for the wire) */
  run<T>(mode: CallMode, fn: (call: { signal: AbortSignal; timeoutMs: number }) => Promise<T>): Promise<T>;
  readonly breaker: CircuitBreakerPolicy;
  readonly bulkhead: BulkheadPolicy;
}

/**
 * One breaker and one bulkhead per client (shared by every mode: they protect the cell's
 * connections whichever call is slow); retry and timeout per mode.
 */
export function createCallPolicies(options: {
  policies: Record<CallMode, CallPolicy>;
  breaker?: CircuitBreakerOptions;
  maxConcurrent: number;
}): CallPolicies {
  const breaker = circuitBreaker(handleWhen(isUnhealthy), {
    halfOpenAfter: options.breaker?.openMs ?? 10_000,
    breaker: new ConsecutiveBreaker(options.breaker?.failureThreshold ?? 5),
  });
  // no queue: waiting for a slot would hold the caller's database connection
  const limit = bulkhead(options.maxConcurrent, 0);
  const forMode = (policy: CallPolicy) => {
    const tries = retry(handleWhen(isRetryable), {
      maxAttempts: Math.max(0, policy.attempts - 1),
      backoff: new ExponentialBackoff({ initialDelay: policy.backoffMs, maxDelay: policy.backoffMs * 8 }),
    });
    const deadline = timeout(policy.timeoutMs, TimeoutStrategy.Aggressive);
    return { policy: wrap(limit, tries, breaker, deadline), timeoutMs: policy.timeoutMs };
  };
  const byMode = { transaction: forMode(options.policies.transaction), background: forMode(options.policies.background) };

  return {
    breaker,
    bulkhead: limit,
    run(mode, fn) {
      const { policy, timeoutMs } = byMode[mode];
      return policy.execute(({ signal }) => fn({ signal, timeoutMs })) as Promise<never>;
    },
  };
}
