import postgres from 'postgres';
import { DUPLICATE_DATABASE } from './sqlstate';

export type Sql = postgres.Sql<Record<string, never>>;
export type TransactionSql = postgres.TransactionSql<Record<string, never>>;

export interface SqlOptions {
  /** pool size; keep small per process, scale with pods */
  max?: number;
  /** application_name shown in pg_stat_activity */
  applicationName?: string;
  /** seconds before an idle connection is closed */
  idleTimeout?: number;
}

/**
 * One pool per database URL per process. int8 columns come back as `bigint` so ids beyond 2^53
 * stay exact; notices are dropped (migrations' `IF NOT EXISTS` would spam them).
 */
export function createSql(url: string, options: SqlOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    idle_timeout: options.idleTimeout ?? 30,
    connect_timeout: 10,
    onnotice: () => undefined,
    connection: { application_name: options.applicationName ?? 'meridian' },
    types: {
      bigint: postgres.BigInt,
    },
  }) as unknown as Sql;
}

/** Database name in a URL, for messages. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || '(default)';
}

/** Same server, another database (used to reach `postgres` for CREATE DATABASE). */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Creates the database of `url` when it is missing; returns true when it created it. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const name = databaseName(url);
  const admin = postgres(withDatabase(url, 'postgres'), { max: 1, onnotice: () => undefined });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${name}`;
    if (rows.length > 0) return false;
    try {
      await admin.unsafe(`create database ${quoteIdent(name)}`);
    } catch (error) {
      // another process created it between our check and our create: that is fine
      if ((error as { code?: string }).code !== DUPLICATE_DATABASE) throw error;
      return false;
    }
    return true;
  } finally {
    await admin.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const admin = postgres(withDatabase(url, 'postgres'), { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`drop database if exists ${quoteIdent(databaseName(url))} with (force)`);
  } finally {
    await admin.end();
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
