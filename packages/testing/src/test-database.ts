import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { testPostgresUrl } from './env';

// This package deliberately does not depend on @meridian/db (whose own tests use it): it creates
// and drops databases with postgres.js directly and leaves migrating to a callback.

export interface TestDatabase {
  url: string;
  name: string;
  /** drops the database (close your own pools on it first; `with (force)` ends stragglers) */
  drop(): Promise<void>;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

function urlFor(database: string): string {
  const url = new URL(testPostgresUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

async function onServer<T>(run: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(urlFor('postgres'), { max: 1, onnotice: () => undefined });
  try {
    return await run(admin);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * A fresh, empty database for one test file, so no test depends on what another run left behind.
 * Call `drop()` in afterAll.
 */
export async function createTestDatabase(label = 'mt'): Promise<TestDatabase> {
  const name = uniqueName(label);
  await onServer((admin) => admin.unsafe(`create database "${name}"`));
  return {
    url: urlFor(name),
    name,
    drop: () => onServer((admin) => admin.unsafe(`drop database if exists "${name}" with (force)`)).then(() => undefined),
  };
}
