import { createHash, randomBytes } from 'node:crypto';
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

/** A migrated template that test databases are cloned from (CREATE DATABASE … TEMPLATE). */
export interface TemplateSpec {
  /** changes whenever the schema does (e.g. a hash of the migrations' checksums) */
  fingerprint: string;
  /** migrates the empty template once; must close every connection it opened before resolving */
  migrate(url: string): Promise<void>;
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

/** Set by the preset's global setup for one jest run; templates of the run carry it and go with it. */
export const TEMPLATE_RUN_ENV = 'MERIDIAN_TEST_TEMPLATE_RUN';
export const TEMPLATE_PREFIX = 'mtpl_';

function templateName(spec: TemplateSpec): string {
  const run = process.env[TEMPLATE_RUN_ENV] ?? `p${process.pid}`;
  return `${TEMPLATE_PREFIX}${run}_${createHash('sha256').update(spec.fingerprint).digest('hex').slice(0, 16)}`;
}

/**
 * The template for `spec`, created and migrated by whichever test file needs it first (an
 * advisory lock serialises the jest workers), then reused by every other file of the run.
 */
async function ensureTemplate(admin: postgres.Sql, spec: TemplateSpec): Promise<string> {
  const name = templateName(spec);
  const exists = async () => (await admin`select 1 from pg_database where datname = ${name}`).length > 0;
  if (await exists()) return name;
  const building = `${name}_b`;
  await admin.unsafe(`drop database if exists "${building}" with (force)`);
  await admin.unsafe(`create database "${building}"`);
  try {
    await spec.migrate(urlFor(building));
    await admin.unsafe(`alter database "${building}" rename to "${name}"`);
    await admin.unsafe(`alter database "${name}" with is_template true allow_connections false`);
  } catch (error) {
    await admin.unsafe(`drop database if exists "${building}" with (force)`);
    throw error;
  }
  return name;
}

/**
 * A fresh database for one test file, so no test depends on what another run left behind. With
 * a template it is a clone of an already migrated database (fast: no migrations per file).
 * Call `drop()` in afterAll.
 */
export async function createTestDatabase(label = 'mt', options: { template?: TemplateSpec } = {}): Promise<TestDatabase> {
  const name = uniqueName(label);
  await onServer(async (admin) => {
    if (!options.template) {
      await admin.unsafe(`create database "${name}"`);
      return;
    }
    // one connection (max: 1) holds a session advisory lock: jest workers build a template once
    // and clone it one at a time (a template must have no other session while it is copied)
    await admin`select pg_advisory_lock(hashtext('meridian test templates'))`;
    try {
      const source = await ensureTemplate(admin, options.template);
      await admin.unsafe(`create database "${name}" template "${source}"`);
    } finally {
      await admin`select pg_advisory_unlock(hashtext('meridian test templates'))`;
    }
  });
  return {
    url: urlFor(name),
    name,
    drop: () => onServer((admin) => admin.unsafe(`drop database if exists "${name}" with (force)`)).then(() => undefined),
  };
}
