import { BucketType, SourceType, listPasses, runVerification, type DriftKind } from '../../src';
import { startClaimsTestEnv, type ClaimsTestEnv } from '../../src/conformance/claims-test-env';
import { aheadClock, enableVerification, line, meta, seedService, serviceState, vEmails, verificationSchema, vModels, vUsers } from './verification-env';

// A seeded drift of every kind, repaired exactly by one run per model, against the real Topology
// Service; the recent rows' claims survive; a second run finds nothing; the dry run writes nothing.

let env: ClaimsTestEnv;
beforeAll(async () => {
  env = await startClaimsTestEnv({ schema: verificationSchema, cells: [1] });
  await env.setClaimsFlag(true);
  await enableVerification(env, 1, vModels);
});
afterAll(async () => env?.close());

const U = BucketType.USERNAMES;
const I = BucketType.USER_IDS;
const R = BucketType.ROUTES;
const E = BucketType.EMAILS;

async function seedDrift() {
  const sql = env.cells[1]!.sql;
  await sql`truncate users, emails`;
  await env.topologySql`delete from claims`;
  const insert = async (username: string | null, extra: { routing_path?: string; hidden?: boolean; recent?: boolean } = {}) => {
    const [row] = await sql<{ id: bigint }[]>`
      insert into users (username, routing_path, hidden, updated_at)
      values (${username}, ${extra.routing_path ?? null}, ${extra.hidden ?? false}, now() + ${extra.recent ? '90 minutes' : '0 minutes'}::interval)
      returning id`;
    return row!.id;
  };
  const inSync = await insert('alice', { routing_path: 'alice' });
  const missing = await insert('bob');
  const changedValue = await insert('carol-new');
  const blank = await insert(null, { routing_path: 'group/sub' });
  const outOfScope = await insert('hidden-harry', { hidden: true });
  const recent = await insert('eve-new', { recent: true });
  const recentHidden = await insert('recent-hidden', { hidden: true, recent: true });
  const last = await insert('zed');
  const orphanBetween = missing + 1000n; // no such row, past the last row
  const [email] = await sql<{ id: bigint }[]>`insert into emails (user_id, email) values (${inSync.toString()}, 'alice@example.com') returning id`;
  const client = env.client(1);
  await seedService(client, [
    meta(I, String(inSync), inSync, inSync),
    meta(U, 'alice', inSync, inSync),
    meta(R, 'alice', inSync, inSync),
    meta(I, String(changedValue), changedValue, changedValue),
    meta(U, 'carol-old', changedValue, changedValue),
    meta(I, String(blank), blank, blank),
    meta(U, 'dave', blank, blank),
    meta(R, 'group/sub', blank, blank),
    meta(I, String(outOfScope), outOfScope, outOfScope),
    meta(U, 'hidden-harry', outOfScope, outOfScope),
    meta(I, String(recent), recent, recent),
    meta(U, 'eve-old', recent, recent),
    meta(U, 'recent-hidden', recentHidden, recentHidden),
    meta(I, String(last), last, last),
    meta(U, 'zed', last, last),
    meta(I, '424242', 424242n, 5n), // orphan before the first row
    meta(U, 'ghost', orphanBetween, orphanBetween), // orphan past the last row
    // same email, wrong subject (the email moved to another user)
    meta(E, 'alice@example.com', missing, email!.id, SourceType.RAILS_TABLE_EMAILS),
  ]);
  env.calls.length = 0;
  return { inSync, missing, changedValue, blank, outOfScope, recent, recentHidden, last, orphanBetween, email: email!.id };
}

function expectedState(ids: Awaited<ReturnType<typeof seedDrift>>): string[] {
  const { inSync, missing, changedValue, blank, recent, recentHidden, last, email } = ids;
  return [
    line(I, String(inSync), inSync, inSync),
    line(U, 'alice', inSync, inSync),
    line(R, 'alice', inSync, inSync),
    line(I, String(missing), missing, missing),
    line(U, 'bob', missing, missing),
    line(I, String(changedValue), changedValue, changedValue),
    line(U, 'carol-new', changedValue, changedValue),
    line(I, String(blank), blank, blank),
    // the recent rows are left alone: their old claims survive, nothing new is created
    line(I, String(recent), recent, recent),
    line(U, 'eve-old', recent, recent),
    line(U, 'recent-hidden', recentHidden, recentHidden),
    line(I, String(last), last, last),
    line(U, 'zed', last, last),
    line(E, 'alice@example.com', inSync, email, SourceType.RAILS_TABLE_EMAILS),
  ].sort((a, b) => {
    const [ta, va] = [Number(a.split('=')[0]), a.split('=')[1]!.split(' ')[0]!];
    const [tb, vb] = [Number(b.split('=')[0]), b.split('=')[1]!.split(' ')[0]!];
    return ta - tb || (va < vb ? -1 : va > vb ? 1 : 0);
  });
}

test('every kind of drift is repaired exactly; the recent rows keep their claims; a second run finds nothing', async () => {
  const ids = await seedDrift();
  const claims = env.claims({ models: vModels });
  const now = aheadClock();
  const users = await runVerification(claims, vUsers.name, { now, trigger: 'test' });
  const emails = await runVerification(claims, vEmails.name, { now, trigger: 'test' });
  expect(users.status).toBe('done');
  expect(emails.status).toBe('done');
  expect(await serviceState(env, 1)).toEqual(expectedState(ids));

  const drift = (counts: typeof users.counts) => Object.fromEntries(Object.entries(counts.drift).filter(([, n]) => n > 0)) as Partial<Record<DriftKind, number>>;
  expect(drift(users.counts)).toEqual({
    missing_in_service: 2, // bob: id + username
    changed_value: 1, // carol-old → carol-new
    blank_or_condition: 2, // username blank, routing path not top-level
    out_of_scope: 2, // hidden row
    orphaned_in_service: 2, // before the first row and past the last row
  });
  expect(drift(emails.counts)).toEqual({ changed_subject: 1 });
  expect(users.counts).toMatchObject({ rows: 6, created: 3, destroyed: 7, replaced: 1, conflicts: 0, skippedRecent: 2 });
  expect(users.conflicts).toEqual([]);
  // passes recorded, cursor reset
  const passes = await listPasses(env.cells[1]!.sql, { model: 'users' });
  expect(passes[0]).toMatchObject({ model: 'users', trigger: 'test', rows: 6 });
  expect(await env.cells[1]!.sql`select * from cells_claims_verification_cursors`).toHaveLength(0);

  const again = await runVerification(claims, vUsers.name, { now });
  expect(again.counts).toMatchObject({ created: 0, destroyed: 0, replaced: 0 });
  expect(await serviceState(env, 1)).toEqual(expectedState(ids));
});

test('--dry-run reports the same drift and writes nothing (service, cursor, passes, lock)', async () => {
  const ids = await seedDrift();
  const sql = env.cells[1]!.sql;
  await sql`delete from cells_claims_verification_passes`;
  const before = await serviceState(env, 1);
  const claims = env.claims({ models: vModels });
  const result = await runVerification(claims, vUsers.name, { now: aheadClock(), dryRun: true });
  expect(result.counts).toMatchObject({ rows: 6, created: 3, destroyed: 7, replaced: 1, skippedRecent: 2 });
  expect(await serviceState(env, 1)).toEqual(before);
  expect(env.calls.map((c) => c.method).filter((m) => m !== 'ListRecords')).toEqual([]);
  for (const table of ['cells_claims_verification_passes', 'cells_claims_verification_cursors', 'cells_claims_verification_locks']) {
    expect(await sql`select * from ${sql(table)}`).toHaveLength(0);
  }
  expect(before).not.toEqual(expectedState(ids));
});

test('rows changed in the last hour are left alone on both sides (without the rule their claims would go)', async () => {
  const ids = await seedDrift();
  const claims = env.claims({ models: vModels });
  // the control: with a zero "recent" window the same rows are verified, so the survival above
  // is the rule's doing, not an accident of the data
  const result = await runVerification(claims, vUsers.name, { now: aheadClock(), verify: { recentMs: 0 } });
  expect(result.counts.skippedRecent).toBe(0);
  const state = await serviceState(env, 1);
  expect(state).not.toContain(line(U, 'eve-old', ids.recent, ids.recent));
  expect(state).not.toContain(line(U, 'recent-hidden', ids.recentHidden, ids.recentHidden));
});
