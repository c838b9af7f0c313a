export { createSql, databaseName, withDatabase, ensureDatabase, dropDatabase, quoteIdent } from './create-sql';
export type { Sql, TransactionSql, SqlOptions } from './create-sql';
export { withTransaction, transactionScope, TransactionSeamError, AfterCommitHookError, type Db, type TransactionHooks, type TransactionScope } from './transaction';
export { exactlyOne, atMostOne, RowCountError } from './exactly-one';
export {
  RETRYABLE_SQLSTATES,
  UNAVAILABLE_CODES,
  SERIALIZATION_FAILURE,
  DEADLOCK_DETECTED,
  UNIQUE_VIOLATION,
  DUPLICATE_DATABASE,
  ADMIN_SHUTDOWN,
  CRASH_SHUTDOWN,
  CANNOT_CONNECT_NOW,
  sqlStateOf,
  isRetryableSqlError,
  isUniqueViolation,
  isDatabaseUnavailable,
} from './sqlstate';
export { composeMigrations, checksumOf } from './migration';
export type { DatabaseKind, Migration, MigrationSet } from './migration';
export { migrate, pendingMigrations, assertMigrated, MigrationHistoryError, NotMigratedError } from './migrate';
export { migrationSet } from './migration-sets';
export { isFlagEnabled, listFlags, setFlag, UnknownFlagError, type FlagDefinition, type FlagState } from './feature-flags';
export { migrationTemplate } from './migration-template';
