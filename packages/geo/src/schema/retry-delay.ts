// The shared backoff, as one SQL function both databases define from this text: the tracking
// database (registry sync and verification retries) and the main database (primary verification).
// It is part of released steps, so it is frozen: a different formula is a new function in a new step.

/** `geo_retry_delay_seconds(n, max_wait_seconds)`; the indentation is part of released SQL. */
export const RETRY_DELAY_FUNCTION_SQL = `-- upstream backoff: delay(n) = n^4 + 15 + rand(0..29)*(n+1) s, capped at max_wait + delay(1)
      create function geo_retry_delay_seconds(n integer, max_wait_seconds integer) returns double precision
      language sql volatile as $$
        select least(
          power(greatest(n, 1), 4)::float8 + 15 + floor(random() * 30) * (greatest(n, 1) + 1),
          max_wait_seconds + 16 + floor(random() * 30) * 2
        )
      $$;`;

/** Upstream caps: retries wait at most 1 h (+ delay(1)), or 4 h when the file is missing on the primary. */
export const MAX_RETRY_WAIT_SECONDS = 3_600;
export const MISSING_ON_PRIMARY_MAX_RETRY_WAIT_SECONDS = 4 * 3_600;

/** SQL expression: `from` plus the backoff for attempt `n` (both SQL expressions), with the given cap. */
export function retryAtSql(from: string, n: string, maxWaitSeconds: number = MAX_RETRY_WAIT_SECONDS): string {
  return `${from} + make_interval(secs => geo_retry_delay_seconds(${n}, ${maxWaitSeconds}))`;
}
