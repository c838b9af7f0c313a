export { testRedisUrl, testPostgresUrl } from './env';
export { createTestDatabase, uniqueName, type TestDatabase } from './test-database';
export { createTestPrefix, deleteKeysWithPrefix } from './redis-prefix';
export { waitFor } from './wait-for';
export { spawnTs, spawnNode, repoRoot, type SpawnedTs } from './child-process';
export { formatBench, printBench, seconds, percentile, type BenchFigure } from './bench';
export { startThrottledProxy, type ThrottledProxy } from './throttled-proxy';
