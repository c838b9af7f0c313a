export { ensureServices, databaseUrl, NoServiceError, type Services } from './ensure-services';
export { startRedisServer, MissingBinaryError, type RedisServerHandle } from './redis-server';
export { startEmbeddedPostgres, relocatedHome, EmbeddedPostgresError, type PostgresServerHandle } from './embedded-postgres';
export { freePort, portAnswers } from './free-port';
export { which } from './which';
export { deleteKeysWithPrefix } from './redis-keys';
