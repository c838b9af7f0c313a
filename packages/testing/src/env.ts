// Where tests find their servers: `npm test` exports these after it made sure something answers.
export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** Any database URL on the test server; tests only use it to reach the server. */
export function testPostgresUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}
