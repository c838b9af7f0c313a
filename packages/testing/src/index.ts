export { testRedisUrl, testPostgresUrl } from './env';
export { createTestDatabase, uniqueName, type TestDatabase } from './test-database';
export { createTestPrefix } from './redis-prefix';
export { waitFor } from './wait-for';
export { spawnTs, repoRoot, type SpawnedTs } from './child-process';
