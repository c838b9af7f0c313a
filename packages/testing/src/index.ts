export { testRedisUrl, testPostgresUrl } from './env';
export { createTestDatabase, uniqueName, TEMPLATE_RUN_ENV, TEMPLATE_PREFIX, type TestDatabase, type TemplateSpec } from './test-database';
export { createTestPrefix, deleteKeysWithPrefix } from './redis-prefix';
export { waitFor } from './wait-for';
export { spawnTs, spawnNode, repoRoot, type SpawnedTs } from './child-process';
export { formatBench, printBench, seconds, percentile, type BenchFigure } from './bench';
export { startThrottledProxy, type ThrottledProxy } from './throttled-proxy';
export { startTcpProxy, type TcpProxy, type ProxyLink } from './tcp-proxy';
export { CLOSE_BOUND_MS, closeServer, closedByServer, connectTcp, dribble, dribbleUntilClosed } from './raw-socket';
