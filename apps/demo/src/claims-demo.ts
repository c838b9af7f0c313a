import { cellClaimables, emailClaimable, signUpUser, userClaimable } from '@meridian/cell-models';
import { claimsFlags, ClaimTakenError, createOwnerLookup, encodePrimaryKey, uniqueClaimsFlag, verificationFlags, type Claims } from '@meridian/claims';
import { loadConfig } from '@meridian/config';
import { createSql, exactlyOne, setFlag, type Sql } from '@meridian/db';
import type { Logger } from '@meridian/logger';
import { migrateSite, openClaims } from '@meridian/runtime';
import { cliEnvironment, type DemoSettings } from './demo-processes';

// The claims part of the demo: users signed up in two cells (cell 1 is the primary site, cell 2
// a second cell's database that this process writes for its application), one username both
// want, refused in the second; and, once, a drift that `meridian claims verify all` repairs.

/** Cell 2's ids start here (upstream gives every cell its own sequence range), so ids never collide. */
export const CELL2_ID_START = 2_000_000_000;

/** Verification leaves rows changed in the last hour alone: the seeded drift is dated this far back. */
const DRIFT_AGE = '2 hours';

const CELLS = [
  { label: 'cell-1', site: 'primary' as const },
  { label: 'cell-2', site: 'cell-2' as const },
];

/** Migrates cell 2's main database (when new: its own id range) and reports like the other databases. */
export async function prepareCell2(settings: DemoSettings, logger: Logger): Promise<{ name: string; created: boolean; applied: string[] }> {
  const [result] = await migrateSite(loadConfig({ DATABASE_URL: settings.databases.cell2Main }), logger, ['main']);
  const sql = createSql(settings.databases.cell2Main, { max: 1, applicationName: 'meridian-demo' });
  try {
    for (const { name } of await sql<{ name: string }[]>`
      select schemaname || '.' || sequencename as name from pg_sequences where coalesce(last_value, 0) < ${CELL2_ID_START}`) {
      await sql`select setval(${name}::regclass, ${CELL2_ID_START}, false)`;
    }
  } finally {
    await sql.end({ timeout: 1 });
  }
  return result!;
}

interface DemoCell {
  label: string;
  sql: Sql;
  claims: Claims;
}

function openCells(settings: DemoSettings, logger: Logger): DemoCell[] {
  return CELLS.map(({ label, site }) => {
    const config = loadConfig(cliEnvironment(settings, site));
    const sql = createSql(config.DATABASE_URL, { max: 2, applicationName: 'meridian-demo' });
    return { label, sql, claims: openClaims(config, sql, logger) };
  });
}

/**
 * Switches claims on in both cells: the global flag `cells_unique_claims` and every model's
 * verification flag (`claims verify all` and the weekly run then verify every model).
 */
export async function enableClaims(settings: DemoSettings): Promise<void> {
  const flags = claimsFlags(cellClaimables);
  const names = [uniqueClaimsFlag, ...verificationFlags(cellClaimables)].map((f) => f.name);
  for (const url of [settings.databases.main, settings.databases.cell2Main]) {
    const sql = createSql(url, { max: 1, applicationName: 'meridian-demo' });
    try {
      for (const name of names) await setFlag(sql, flags, name, true);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
}

async function userCount(cell: DemoCell, username: string): Promise<number> {
  return exactlyOne(await cell.sql<{ n: number }[]>`select count(*)::int as n from users where username = ${username}`, 'count').n;
}

/**
 * Signs up the demo's users in both cells (first run only), then tries the username cell 1 holds
 * in cell 2 (every run) and shows it refused. Returns whether the conflict was refused.
 */
export async function runClaimsDemo(settings: DemoSettings, logger: Logger, say: (line: string) => void): Promise<{ refused: boolean }> {
  const cells = openCells(settings, logger);
  const [cell1, cell2] = cells as [DemoCell, DemoCell];
  try {
    for (const cell of cells) await cell.claims.client!.warmUp();
    say('\nclaims: users in two cells (cells_unique_claims on in cell 1 and cell 2)');
    const signUp = async (cell: DemoCell, username: string, emails: string[]) => {
      const { user } = await signUpUser(cell.claims, cell.sql, { username, emails });
      say(`  ${cell.label}: signed up ${username} (${emails.join(', ')}), user id ${String(user.id)}`);
      return user;
    };
    const firstRun = (await userCount(cell1, 'alice')) === 0;
    if (firstRun) {
      await signUp(cell1, 'alice', ['alice@example.com', 'alice@work.example.com']);
      await signUp(cell1, 'bob', ['bob@example.com']);
      await signUp(cell2, 'carol', ['carol@example.com', 'carol@work.example.com']);
    } else {
      say('  users alice, bob (cell-1) and carol (cell-2) exist from an earlier run');
    }

    let refused = false;
    try {
      await signUpUser(cell2.claims, cell2.sql, { username: 'alice', emails: ['alice@cell-2.example.com'] });
      say(`  ✗ cell-2: signed up a second 'alice': claims did not refuse it (is cells_unique_claims on?)`);
    } catch (error) {
      if (!(error instanceof ClaimTakenError)) throw error;
      const owner = error.conflicts[0] ? await createOwnerLookup(cell2.claims.client!)(error.conflicts[0]) : undefined;
      const held = owner === undefined ? 'held by an open lease' : `held by cell-${owner}`;
      for (const taken of error.errors) say(`  ✗ cell-2: ${taken.attribute} '${taken.value}' has already been taken (${held}); the user was not created`);
      refused = (await userCount(cell2, 'alice')) === 0;
      say(`  cell-2 users named alice: ${await userCount(cell2, 'alice')}; cell-1: ${await userCount(cell1, 'alice')}`);
    }
    if (firstRun) await seedDrift(settings, cell1, say);
    return { refused };
  } finally {
    await Promise.all(cells.map((cell) => cell.sql.end({ timeout: 1 })));
  }
}

/**
 * Drift that plain SQL past the writer causes, dated two hours back so verification considers it:
 * a user (and email) inserted without claims, and a user deleted without releasing its claims.
 */
async function seedDrift(settings: DemoSettings, cell1: DemoCell, say: (line: string) => void): Promise<void> {
  const { user: dave, emails } = await signUpUser(cell1.claims, cell1.sql, { username: 'dave', emails: ['dave@example.com'] });
  const topology = createSql(settings.databases.topology, { max: 1, applicationName: 'meridian-demo' });
  try {
    const sources = [
      ...[dave.id].map((id) => ({ type: userClaimable.sourceType, id })),
      ...emails.map((e) => ({ type: emailClaimable.sourceType, id: e.id })),
    ];
    for (const source of sources) {
      await topology`
        update claims set created_at = now() - ${DRIFT_AGE}::interval, updated_at = now() - ${DRIFT_AGE}::interval
        where cell_id = 1 and source_type = ${source.type} and source_id = ${Buffer.from(encodePrimaryKey(source.id as bigint))}`;
    }
  } finally {
    await topology.end({ timeout: 1 });
  }
  await cell1.sql`delete from users where id = ${String(dave.id)}`;
  const erin = exactlyOne(
    await cell1.sql<{ id: bigint }[]>`
      insert into users (username, name, updated_at) values ('erin', 'erin', now() - ${DRIFT_AGE}::interval) returning id`,
    'user',
  );
  await cell1.sql`insert into emails (user_id, email, updated_at) values (${erin.id.toString()}, 'erin@example.com', now() - ${DRIFT_AGE}::interval)`;
  say(`\nclaims drift seeded in cell-1 with plain SQL past the writer (dated ${DRIFT_AGE} back; verification leaves the last hour alone):`);
  say(`  user 'dave' (id ${String(dave.id)}) and dave@example.com deleted: their claims are orphaned in the Topology Service`);
  say(`  user 'erin' (id ${erin.id}) and erin@example.com inserted: their claims are missing in the Topology Service`);
  say(`  repair it:  env ${Object.entries(cliEnvironment(settings, 'primary')).map(([k, v]) => `${k}=${v}`).join(' ')} npm run meridian -- claims verify all`);
}
