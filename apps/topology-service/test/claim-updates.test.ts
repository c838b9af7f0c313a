import { Code } from '@connectrpc/connect';
import { BucketSchema, Record_Status } from '@meridian/proto';
import { ADMIN_TOKEN, CELL_1_TOKEN, CELL_2_TOKEN, startHarness, type Harness } from './harness';
import { claim, EMAILS, expectCode, USERNAMES } from './fixtures';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const status = async (type: number, value: string) => {
  const [row] = await h.sql<{ status: number; cell_id: bigint }[]>`
    select status, cell_id from claims where bucket_type = ${type} and bucket_value = ${value}`;
  return row;
};

describe('BeginUpdate / CommitUpdate / RollbackUpdate', () => {
  test('creates are LEASE_CREATING until commit, then ACTIVE; commit is idempotent', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const begun = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'ada'), claim(EMAILS, 'ada@example.com')] });
    expect(begun.cellId).toBe(1n);
    expect(begun.leaseUuid?.value).toMatch(/^[0-9a-f-]{36}$/);
    expect(await status(USERNAMES, 'ada')).toEqual({ status: Record_Status.LEASE_CREATING, cell_id: 1n });

    await cell1.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });
    await cell1.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid }); // a retry after a lost response
    expect(await status(USERNAMES, 'ada')).toEqual({ status: Record_Status.ACTIVE, cell_id: 1n });
    expect(await status(EMAILS, 'ada@example.com')).toEqual({ status: Record_Status.ACTIVE, cell_id: 1n });
  });

  test('rollback of creates removes them and is idempotent; commit after rollback is FAILED_PRECONDITION', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const begun = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'bob')] });
    await cell1.rollbackUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });
    await cell1.rollbackUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });
    expect(await status(USERNAMES, 'bob')).toBeUndefined();
    await expectCode(cell1.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid }), Code.FailedPrecondition);
    // the value is free again
    const again = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'bob')] });
    await cell1.commitUpdate({ cellId: 1n, leaseUuid: again.leaseUuid });
    await expectCode(cell1.rollbackUpdate({ cellId: 1n, leaseUuid: again.leaseUuid }), Code.FailedPrecondition);
  });

  test('concurrent retries of the same commit all succeed', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const begun = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'retry-me')] });
    await Promise.all(Array.from({ length: 8 }, () => cell1.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid })));
    expect(await status(USERNAMES, 'retry-me')).toEqual({ status: Record_Status.ACTIVE, cell_id: 1n });
  });

  test('destroys mark LEASE_DESTROYING; commit deletes, rollback restores', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const created = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'carol'), claim(USERNAMES, 'dave')] });
    await cell1.commitUpdate({ cellId: 1n, leaseUuid: created.leaseUuid });

    const destroyCarol = await cell1.beginUpdate({ cellId: 1n, destroyRecords: [claim(USERNAMES, 'carol')] });
    expect((await status(USERNAMES, 'carol'))?.status).toBe(Record_Status.LEASE_DESTROYING);
    await cell1.commitUpdate({ cellId: 1n, leaseUuid: destroyCarol.leaseUuid });
    expect(await status(USERNAMES, 'carol')).toBeUndefined();

    const destroyDave = await cell1.beginUpdate({ cellId: 1n, destroyRecords: [claim(USERNAMES, 'dave')] });
    await cell1.rollbackUpdate({ cellId: 1n, leaseUuid: destroyDave.leaseUuid });
    expect(await status(USERNAMES, 'dave')).toEqual({ status: Record_Status.ACTIVE, cell_id: 1n });
  });

  test('a taken value is ALREADY_EXISTS naming the conflicts, and nothing of the batch is applied', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const cell2 = h.claims(CELL_2_TOKEN);
    const owned = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'erin')] });
    await cell1.commitUpdate({ cellId: 1n, leaseUuid: owned.leaseUuid });

    const error = await expectCode(
      cell2.beginUpdate({ cellId: 2n, createRecords: [claim(USERNAMES, 'frank', 2), claim(USERNAMES, 'erin', 2)] }),
      Code.AlreadyExists,
    );
    expect(error.rawMessage).toContain('{USERNAMES=erin}');
    expect(error.findDetails(BucketSchema)).toEqual([expect.objectContaining({ type: USERNAMES, value: 'erin' })]);
    expect(await status(USERNAMES, 'frank')).toBeUndefined(); // all or nothing
    const leases = await h.sql`select 1 from claim_leases where cell_id = 2`;
    expect(leases).toHaveLength(0);
  });

  test('a value still being created by another lease is ALREADY_EXISTS too', async () => {
    const pending = await h.claims(CELL_1_TOKEN).beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'pending')] });
    await expectCode(h.claims(CELL_2_TOKEN).beginUpdate({ cellId: 2n, createRecords: [claim(USERNAMES, 'pending', 9)] }), Code.AlreadyExists);
    await h.claims(CELL_1_TOKEN).rollbackUpdate({ cellId: 1n, leaseUuid: pending.leaseUuid });
  });

  test('destroys of another cell’s, leased or missing claims are FAILED_PRECONDITION, all or nothing', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const cell2 = h.claims(CELL_2_TOKEN);
    const own = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'gina'), claim(USERNAMES, 'hank')] });
    await cell1.commitUpdate({ cellId: 1n, leaseUuid: own.leaseUuid });

    const foreign = await expectCode(cell2.beginUpdate({ cellId: 2n, destroyRecords: [claim(USERNAMES, 'gina')] }), Code.FailedPrecondition);
    expect(foreign.rawMessage).toContain('owned by another cell');
    const missing = await expectCode(cell1.beginUpdate({ cellId: 1n, destroyRecords: [claim(USERNAMES, 'nobody')] }), Code.FailedPrecondition);
    expect(missing.rawMessage).toContain('not claimed');

    const first = await cell1.beginUpdate({ cellId: 1n, destroyRecords: [claim(USERNAMES, 'gina')] });
    const leased = await expectCode(
      cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'ivan')], destroyRecords: [claim(USERNAMES, 'hank'), claim(USERNAMES, 'gina')] }),
      Code.FailedPrecondition,
    );
    expect(leased.rawMessage).toContain('held by another lease');
    expect(await status(USERNAMES, 'ivan')).toBeUndefined();
    expect((await status(USERNAMES, 'hank'))?.status).toBe(Record_Status.ACTIVE);
    await cell1.rollbackUpdate({ cellId: 1n, leaseUuid: first.leaseUuid });
  });

  test('create and destroy of the same claim in one batch is INVALID_ARGUMENT', async () => {
    const error = await expectCode(
      h.claims(CELL_1_TOKEN).beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'jo')], destroyRecords: [claim(USERNAMES, 'jo')] }),
      Code.InvalidArgument,
    );
    expect(error.rawMessage).toContain('created and destroyed');
  });

  test('unknown lease is NOT_FOUND, another cell’s lease PERMISSION_DENIED, admin acts for any cell', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const cell2 = h.claims(CELL_2_TOKEN);
    const admin = h.claims(ADMIN_TOKEN);
    const unknown = { value: '00000000-0000-4000-8000-000000000000' };
    await expectCode(cell1.commitUpdate({ cellId: 1n, leaseUuid: unknown }), Code.NotFound);
    await expectCode(cell1.rollbackUpdate({ cellId: 1n, leaseUuid: unknown }), Code.NotFound);

    const begun = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'kim')] });
    // cell 2 naming its own cell id but cell 1's lease
    await expectCode(cell2.commitUpdate({ cellId: 2n, leaseUuid: begun.leaseUuid }), Code.PermissionDenied);
    // cell 2 naming cell 1: refused before the lease is looked at
    await expectCode(cell2.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid }), Code.PermissionDenied);
    await admin.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });
    expect(await status(USERNAMES, 'kim')).toEqual({ status: Record_Status.ACTIVE, cell_id: 1n });

    const forCell2 = await admin.beginUpdate({ cellId: 2n, createRecords: [claim(USERNAMES, 'lee', 3)] });
    await cell2.commitUpdate({ cellId: 2n, leaseUuid: forCell2.leaseUuid });
    expect(await status(USERNAMES, 'lee')).toEqual({ status: Record_Status.ACTIVE, cell_id: 2n });
    await expectCode(admin.beginUpdate({ cellId: 7n, createRecords: [claim(USERNAMES, 'nope')] }), Code.InvalidArgument);
  });

  test('the same value under different bucket types are different claims; values round-trip exactly', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const odd = `we"ird,{va}l\\ue 'quoted' ✓`;
    const begun = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, odd), claim(EMAILS, odd)] });
    await cell1.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });
    const found = await h.claims(ADMIN_TOKEN).getRecord({ bucket: { type: USERNAMES, value: odd } });
    expect(found.record?.metadata?.bucket?.value).toBe(odd);
  });
});
