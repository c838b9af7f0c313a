// Baseline: raw PostgreSQL `INSERT … SELECT` rows/s into a table with a unique index, the figure
// later benchmarks (registry backfill) compare against; next to it, the same rows through
// postgres.js batched multi-row inserts, the path application code takes.
import { createTestDatabase, printBench, seconds } from '@meridian/testing';
import { createSql } from '../src';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);

async function main(): Promise<void> {
  const db = await createTestDatabase('mbench');
  const sql = createSql(db.url, { max: 4 });
  try {
    await sql`create table target (id bigserial primary key, model_id bigint not null, state smallint not null default 0, created_at timestamptz not null default now())`;
    await sql`create unique index target_model_id on target (model_id)`;
    const raw = await seconds(() => sql`insert into target (model_id) select g from generate_series(1, ${ROWS}::bigint) g`);
    await sql`truncate target`;
    const batch = 10_000;
    const batched = await seconds(async () => {
      for (let start = 1; start <= ROWS / 10; start += batch) {
        const rows = Array.from({ length: batch }, (_, i) => ({ model_id: start + i }));
        await sql`insert into target ${sql(rows, 'model_id')}`;
      }
    });
    const rawRate = ROWS / raw;
    printBench({ name: `raw INSERT … SELECT into a unique-indexed table (${ROWS.toLocaleString('en-US')} rows)`, value: rawRate, unit: 'rows/s' });
    printBench({
      name: 'postgres.js batched inserts (10,000 rows per statement)',
      value: ROWS / 10 / batched,
      unit: 'rows/s',
      baseline: { name: 'raw INSERT … SELECT', value: rawRate },
    });
  } finally {
    await sql.end();
    await db.drop();
  }
}

void main();
