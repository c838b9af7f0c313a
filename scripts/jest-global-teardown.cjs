// Global teardown of every package's jest run: drops the template databases this run created
// (names `mtpl_<run>_…`, see packages/testing/src/test-database.ts). Tests clean up after themselves.
const fs = require('node:fs');
const postgres = require('postgres');

module.exports = async function globalTeardown() {
  // the temporary STORAGE_ROOT the global setup made for processes the tests started
  if (process.env.MERIDIAN_TEST_STORAGE_ROOT) fs.rmSync(process.env.MERIDIAN_TEST_STORAGE_ROOT, { recursive: true, force: true });
  const run = process.env.MERIDIAN_TEST_TEMPLATE_RUN;
  if (!run) return;
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  const admin = postgres(url.toString(), { max: 1, connect_timeout: 5, onnotice: () => undefined });
  try {
    const rows = await admin`select datname from pg_database where datname like ${`mtpl_${run}_%`}`;
    for (const { datname } of rows) {
      await admin.unsafe(`alter database "${datname}" with is_template false`);
      await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
  } catch {
    // no PostgreSQL for this package's tests: nothing to drop
  } finally {
    await admin.end({ timeout: 1 });
  }
};
