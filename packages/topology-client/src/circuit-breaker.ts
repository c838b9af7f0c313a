// Stops calling a service that keeps failing, so a slow or broken Topology Service costs a cell
// one fast error per write instead of a 0.3 s wait holding a database connection. After
// `openMs` one probe call is let through: success closes the circuit, failure opens it again.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** consecutive failures that open the circuit (default 5) */
  failureThreshold?: number;
  /** how long it stays open before a probe (default 10 s) */
  openMs?: number;
  /** clock, injectable for tests */
  now?: () => number;
}

export interface CircuitBreaker {
  /** undefined when a call may go ahead, else the ms until the next probe */
  check(): number | undefined;
  success(): void;
  failure(): void;
  state(): BreakerState;
}

export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const threshold = options.failureThreshold ?? 5;
  const openMs = options.openMs ?? 10_000;
  const now = options.now ?? Date.now;
  let failures = 0;
  let openedAt: number | undefined;
  let probing = false;

  const state = (): BreakerState => {
    if (openedAt === undefined) return 'closed';
    return now() - openedAt >= openMs ? 'half-open' : 'open';
  };

  return {
    check() {
      const s = state();
      if (s === 'closed') return undefined;
      if (s === 'half-open' && !probing) {
        probing = true;
        return undefined;
      }
      return Math.max(0, openMs - (now() - (openedAt ?? now())));
    },
    success() {
      failures = 0;
      openedAt = undefined;
      probing = false;
    },
    failure() {
      failures++;
      if (probing || failures >= threshold) {
        openedAt = now();
        probing = false;
      }
    },
    state,
  };
}
