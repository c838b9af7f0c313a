export { createSql, databaseName, withDatabase, ensureDatabase, dropDatabase, quoteIdent } from './create-sql';
export type { Sql, TransactionSql, SqlOptions } from './create-sql';
export { composeMigrations, checksumOf } from './migration';
export type { DatabaseKind, Migration, MigrationSet } from './migration';
export { migrate, pendingMigrations, assertMigrated, MigrationHistoryError, NotMigratedError } from './migrate';
export { migrationSet } from './migration-sets';
export { isFlagEnabled, listFlags, setFlag, UnknownFlagError, type FlagDefinition, type FlagState } from './feature-flags';
export { migrationTemplate } from './migration-template';
