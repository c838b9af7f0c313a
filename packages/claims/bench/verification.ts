// Claims verification of BENCH_USERS users (default 1,000,000) with one email each, of which 1 %
// drifted (username claim missing, username changed, email claim missing, orphan claim), next to
// the same reads alone in the same run: the keyed scan of each table in 1,000-row batches plus
// ListRecords over the same ranges, without comparing or writing. The Topology Service runs as
// its own process on its own database. Target: ≥ 50,000 rows/s and ≥ 0.5 × the reads alone.
import { createSql, migrate, migrationSet, setFlag, type Sql } from '@meridian/db';
import { createSilentLogger } from '@meridian/logger';
import { createTestDatabase, printBench } from '@meridian/testing';
import { createTopologyClient, type TopologyClient } from '@meridian/topology-client';
import { BucketType, claimsFlags, claimsMainMigrations, createClaims, encodePrimaryKey, runVerification, SourceType, topologyMigrationSet, SubjectType, uniqueClaimsFlag, verificationFlagName, type Claimable } from '../src';
import { startTopologyProcess } from './topology-process';
import { listRecordRange, VERIFICATION_BATCH_SIZE, VERIFICATION_LOOKAHEAD } from '../src/verification/verification-service';
import { verificationSchema, vEmails, vModels, vUsers } from '../test/verification/verification-env';

const USERS = Number(process.env.BENCH_USERS ?? 1_000_000);
const CREDENTIAL = 'bench-cell-1-credential-xxxx';

async function seed(cell: Sql, topo: Sql): Promise<void> {
  await cell`insert into users (username, updated_at) select 'user-' || g, now() - interval '2 hours' from generate_series(1, ${USERS}) g`;
  await cell`insert into emails (user_id, email, updated_at) select id, username || '@example.com', now() - interval '2 hours' from users`;
  await cell`analyze users`;
  await cell`analyze emails`;
  const old = "now() - interval '2 hours'";
  await topo.unsafe(`
    insert into claims (uuid, bucket_type, bucket_value, subject_type, subject_id, source_type, source_id, cell_id, status, created_at, updated_at)
    select gen_random_uuid(), t.type, case t.type when ${BucketType.USER_IDS} then g::text else 'user-' || g end,
      ${SubjectType.USER}, g, ${SourceType.RAILS_TABLE_USERS}, int8send(g::int8), 1, 1, ${old}, ${old}
    from generate_series(1, ${USERS}) g, (values (${BucketType.USER_IDS}), (${BucketType.USERNAMES})) t(type)`);
  await topo.unsafe(`
    insert into claims (uuid, bucket_type, bucket_value, subject_type, subject_id, source_type, source_id, cell_id, status, created_at, updated_at)
    select gen_random_uuid(), ${BucketType.EMAILS}, 'user-' || g || '@example.com', ${SubjectType.USER}, g, ${SourceType.RAILS_TABLE_EMAILS}, int8send(g::int8), 1, 1, ${old}, ${old}
    from generate_series(1, ${USERS}) g`);
  // 1 % of the users drifted, four kinds in turn
  await topo.unsafe(`delete from claims where bucket_type = ${BucketType.USERNAMES} and (subject_id % 400) = 0`);
  await topo.unsafe(`update claims set bucket_value = 'stale-' || subject_id where bucket_type = ${BucketType.USERNAMES} and (subject_id % 400) = 100`);
  await topo.unsafe(`delete from claims where bucket_type = ${BucketType.EMAILS} and (subject_id % 400) = 200`);
  await topo.unsafe(`
    insert into claims (uuid, bucket_type, bucket_value, subject_type, subject_id, source_type, source_id, cell_id, status, created_at, updated_at)
    select gen_random_uuid(), ${BucketType.USERNAMES}, 'orphan-' || g, ${SubjectType.USER}, ${USERS} + g, ${SourceType.RAILS_TABLE_USERS}, int8send((${USERS} + g)::int8), 1, 1, ${old}, ${old}
    from generate_series(300, ${USERS}, 400) g`);
  await topo`analyze claims`;
}

/**
 * The reads of a verification alone: keyed batches of the table and ListRecords over each range,
 * overlapped as the verifier overlaps them (each batch's rows are read as soon as the previous
 * batch's are, and up to VERIFICATION_LOOKAHEAD listings are in flight).
 */
async function readsAlone(cell: Sql, client: TopologyClient, model: Claimable): Promise<number> {
  const types = Object.values(model.attributes).map((a) => a.bucket);
  const fetch = (after: bigint | undefined) => cell<{ id: bigint }[]>`
    select * from ${cell(model.table)} where ${model.scope ? cell.unsafe(`(${model.scope})`) : cell`true`}
      and ${after === undefined ? cell`true` : cell`id > ${after.toString()}`} order by id limit ${VERIFICATION_BATCH_SIZE}`;
  const inFlight: Promise<unknown>[] = [];
  let cursor: bigint | undefined;
  let rows = 0;
  for (;;) {
    const batch = await fetch(cursor);
    const done = batch.length < VERIFICATION_BATCH_SIZE;
    const last = batch.at(-1)?.id;
    inFlight.push(listRecordRange(client, model, types, cursor === undefined ? new Uint8Array(0) : encodePrimaryKey(cursor), done || last === undefined ? new Uint8Array(0) : encodePrimaryKey(last)));
    if (inFlight.length >= VERIFICATION_LOOKAHEAD) await inFlight.shift();
    rows += batch.length;
    if (done) {
      await Promise.all(inFlight);
      return rows;
    }
    cursor = last;
  }
}

async function timed<T>(run: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await run();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

async function main(): Promise<void> {
  const cellDb = await createTestDatabase('claims_vbench_cell');
  const topoDb = await createTestDatabase('claims_vbench_topo');
  const cell = createSql(cellDb.url, { max: 4 });
  const topo = createSql(topoDb.url, { max: 2 });
  await migrate(cell, migrationSet('main', [verificationSchema, claimsMainMigrations]));
  await migrate(topo, topologyMigrationSet());
  const service = await startTopologyProcess(topoDb.url, CREDENTIAL);
  try {
    const seeded = await timed(() => seed(cell, topo));
    process.stderr.write(`seeded ${USERS} users + emails and ${USERS * 3} claims in ${seeded.seconds.toFixed(1)} s\n`);
    const url = service.url;
    const client = createTopologyClient({ baseUrl: url, credential: CREDENTIAL, cellId: 1 });
    await client.warmUp();
    await setFlag(cell, [uniqueClaimsFlag], uniqueClaimsFlag.name, true);
    for (const m of vModels) await setFlag(cell, claimsFlags(vModels), verificationFlagName(m.verificationName), true);
    const claims = createClaims({ sql: cell, client, models: vModels, logger: createSilentLogger() });

    const reads = async () => (await readsAlone(cell, client, vUsers)) + (await readsAlone(cell, client, vEmails));
    await readsAlone(cell, client, vEmails); // warm caches and connections
    const before = await timed(reads);
    const verify = await timed(async () => [await runVerification(claims, 'users', { budgetMs: Infinity }), await runVerification(claims, 'emails', { budgetMs: Infinity })]);
    const after = await timed(reads);
    const again = await runVerification(claims, 'users', { budgetMs: Infinity });
    const rows = verify.value.reduce((n, r) => n + r.counts.rows, 0);
    const readRate = (before.value + after.value) / (before.seconds + after.seconds);
    const c = (i: number) => verify.value[i]!.counts;
    printBench({
      name: `claims verification, ${USERS.toLocaleString('en-US')} users + emails, 1 % drifted`,
      value: rows / verify.seconds,
      unit: 'rows/s',
      baseline: { name: 'reads alone (keyed scan + ListRecords, before and after)', value: readRate },
      target: { ratio: 0.5, min: 50_000 },
      details: {
        'verify total': `${verify.seconds.toFixed(1)} s for ${rows.toLocaleString('en-US')} rows`,
        'reads alone': `${before.seconds.toFixed(1)} s / ${after.seconds.toFixed(1)} s`,
        'users created/destroyed/replaced': `${c(0).created}/${c(0).destroyed}/${c(0).replaced}`,
        'emails created/destroyed': `${c(1).created}/${c(1).destroyed}`,
        'second run drift': String(again.counts.created + again.counts.destroyed),
      },
    });
  } finally {
    await service.stop();
    await cell.end();
    await topo.end();
    await cellDb.drop();
    await topoDb.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
