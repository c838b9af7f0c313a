// SQLSTATEs the project acts on, in one table. "Retryable" means running the whole transaction
// again may succeed; everything else is a bug or bad input and must surface.

/** class 40: the server gave up on the transaction; the same work again usually succeeds */
export const SERIALIZATION_FAILURE = '40001';
export const DEADLOCK_DETECTED = '40P01';
export const UNIQUE_VIOLATION = '23505';
export const DUPLICATE_DATABASE = '42P04';
/** class 57: the server is shutting down, restarting or refusing connections for now */
export const ADMIN_SHUTDOWN = '57P01';
export const CRASH_SHUTDOWN = '57P02';
export const CANNOT_CONNECT_NOW = '57P03';

export const RETRYABLE_SQLSTATES: ReadonlySet<string> = new Set([SERIALIZATION_FAILURE, DEADLOCK_DETECTED]);

/** Server or connection trouble (postgres.js connection codes and class 57/08 SQLSTATEs). */
export const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  ADMIN_SHUTDOWN,
  CRASH_SHUTDOWN,
  CANNOT_CONNECT_NOW,
  '08000',
  '08003',
  '08006',
]);

/** The SQLSTATE (or postgres.js connection code) of an error, if it has one. */
export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when running the same transaction again may succeed (serialization failure, deadlock). */
export function isRetryableSqlError(error: unknown): boolean {
  const code = sqlStateOf(error);
  return code !== undefined && RETRYABLE_SQLSTATES.has(code);
}

export function isUniqueViolation(error: unknown): boolean {
  return sqlStateOf(error) === UNIQUE_VIOLATION;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  const code = sqlStateOf(error);
  return code !== undefined && UNAVAILABLE_CODES.has(code);
}
