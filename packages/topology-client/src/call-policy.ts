import { Code, ConnectError } from '@connectrpc/connect';

// Deadlines and tries per kind of call, matching the upstream client: a claim inside a cell's
// database transaction must fail fast (0.3 s, 2 tries) because it holds a connection; background
// work (verification, bulk claims, recovery) can wait (10 s, 3 tries).

export interface CallPolicy {
  timeoutMs: number;
  attempts: number;
  /** pause before try n+1 is backoffMs · n */
  backoffMs: number;
}

export type CallMode = 'transaction' | 'background';

export const DEFAULT_POLICIES: Record<CallMode, CallPolicy> = {
  transaction: { timeoutMs: 300, attempts: 2, backoffMs: 100 },
  background: { timeoutMs: 10_000, attempts: 3, backoffMs: 500 },
};

const RETRYABLE = new Set([Code.DeadlineExceeded, Code.Unavailable]);
// failures that say something about the service's health (a domain answer says it is healthy)
const UNHEALTHY = new Set([Code.DeadlineExceeded, Code.Unavailable, Code.Internal, Code.Unknown, Code.ResourceExhausted]);

export function isRetryable(error: unknown): boolean {
  return RETRYABLE.has(ConnectError.from(error).code);
}

export function isUnhealthy(error: unknown): boolean {
  return UNHEALTHY.has(ConnectError.from(error).code);
}

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
