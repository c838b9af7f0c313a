import { Code } from '@connectrpc/connect';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { ClassifyAction, ClassifyType, Record_Status } from '@meridian/proto';
import { ADMIN_TOKEN, CELL_1_TOKEN, CELL_2_TOKEN, ROUTER_TOKEN, pk, startHarness, type Harness } from './harness';
import { claim, EMAILS, expectCode, SOURCE_EMAILS, SOURCE_USERS, USER_IDS, USERNAMES } from './fixtures';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ listRecordsPageSize: 7 });
  const cell1 = h.claims(CELL_1_TOKEN);
  // 40 users with two claims each (username + user id), sharing a source id, plus unrelated rows
  for (let batch = 0; batch < 4; batch++) {
    const createRecords = Array.from({ length: 10 }, (_, i) => batch * 10 + i + 1).flatMap((id) => [
      claim(USERNAMES, `user${id}`, id),
      claim(USER_IDS, String(id), id),
    ]);
    const begun = await cell1.beginUpdate({ cellId: 1n, createRecords });
    await cell1.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });
  }
  const emails = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(EMAILS, 'user1@example.com', 1, SOURCE_EMAILS)] });
  await cell1.commitUpdate({ cellId: 1n, leaseUuid: emails.leaseUuid });
  const cell2 = h.claims(CELL_2_TOKEN);
  const other = await cell2.beginUpdate({ cellId: 2n, createRecords: [claim(USERNAMES, 'elsewhere', 5)] });
  await cell2.commitUpdate({ cellId: 2n, leaseUuid: other.leaseUuid });
});
afterAll(async () => {
  await h.close();
});

describe('ListRecords', () => {
  test('paging across truncated never skips or repeats, and pages end on source id boundaries', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const seen: string[] = [];
    let gt: Uint8Array = new Uint8Array();
    let pages = 0;
    for (;;) {
      const page = await cell1.listRecords({ cellId: 1n, sourceType: SOURCE_USERS, sourceIdGt: gt, sourceIdLte: pk(35) });
      pages++;
      for (const r of page.records) seen.push(`${r.metadata!.bucket!.type}:${r.metadata!.bucket!.value}`);
      if (!page.truncated) break;
      expect(page.records.length).toBeGreaterThan(0);
      gt = page.records.at(-1)!.metadata!.source!.railsPrimaryKeyId;
    }
    const expected = Array.from({ length: 35 }, (_, i) => i + 1).flatMap((id) => [`${USERNAMES}:user${id}`, `${USER_IDS}:${id}`]);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...expected].sort());
    expect(pages).toBeGreaterThan(5);
  });

  test('filters by bucket (or claim) types, source type and cell; exclusive lower, inclusive upper bound', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const names = await cell1.listRecords({ cellId: 1n, sourceType: SOURCE_USERS, bucketTypes: [USERNAMES], sourceIdGt: pk(2), sourceIdLte: pk(5) });
    expect(names.records.map((r) => r.metadata?.bucket?.value)).toEqual(['user3', 'user4', 'user5']);
    expect(names.truncated).toBe(false);
    const byClaimType = await cell1.listRecords({ cellId: 1n, sourceType: SOURCE_USERS, claimTypes: [USER_IDS], sourceIdGt: pk(2), sourceIdLte: pk(4) });
    expect(byClaimType.records.map((r) => r.metadata?.claim?.claim)).toEqual([
      { case: 'userId', value: 3n },
      { case: 'userId', value: 4n },
    ]);
    const emails = await cell1.listRecords({ cellId: 1n, sourceType: SOURCE_EMAILS });
    expect(emails.records.map((r) => r.metadata?.bucket?.value)).toEqual(['user1@example.com']);
    const cell2 = await h.claims(CELL_2_TOKEN).listRecords({ cellId: 2n, sourceType: SOURCE_USERS });
    expect(cell2.records.map((r) => r.metadata?.bucket?.value)).toEqual(['elsewhere']);
    await expectCode(cell1.listRecords({ cellId: 1n, sourceType: 0 }), Code.InvalidArgument);
    await expectCode(cell1.listRecords({ cellId: 2n, sourceType: SOURCE_USERS }), Code.PermissionDenied);
  });
});

describe('GetRecord and GetCells', () => {
  test('admin reads a record by bucket or by claim, with its cell', async () => {
    const admin = h.claims(ADMIN_TOKEN);
    const byBucket = await admin.getRecord({ bucket: { type: USERNAMES, value: 'user3' } });
    expect(byBucket.record).toMatchObject({ cellId: 1n, status: Record_Status.ACTIVE });
    expect(byBucket.record?.metadata?.source?.railsPrimaryKeyId).toEqual(pk(3));
    expect(byBucket.cellInfo?.address).toBe('cell-1.test:443');
    const byClaim = await admin.getRecord({ claim: { claim: { case: 'userId', value: 3n } } });
    expect(byClaim.record?.metadata?.bucket).toMatchObject({ type: USER_IDS, value: '3' });
    await expectCode(admin.getRecord({ bucket: { type: USERNAMES, value: 'ghost' } }), Code.NotFound);
    await expectCode(admin.getRecord({}), Code.InvalidArgument);
    await expectCode(h.claims(CELL_1_TOKEN).getRecord({ bucket: { type: USERNAMES, value: 'user3' } }), Code.PermissionDenied);
  });

  test('any authenticated caller lists the cells', async () => {
    for (const token of [CELL_1_TOKEN, ADMIN_TOKEN, ROUTER_TOKEN]) {
      const { cells } = await h.claims(token).getCells({});
      expect(cells.map((c) => [c.id, c.address, c.sessionPrefix])).toEqual([
        [1n, 'cell-1.test:443', 'cell-1'],
        [2n, 'cell-2.test:443', 'cell-2'],
      ]);
    }
    await expectCode(h.claims(undefined).getCells({}), Code.Unauthenticated);
  });
});

describe('ListLeases', () => {
  test('lists open leases of the cell in creation order with an opaque cursor and created_after', async () => {
    const cell2 = h.claims(CELL_2_TOKEN);
    const opened: string[] = [];
    for (let i = 0; i < 5; i++) {
      const begun = await cell2.beginUpdate({ cellId: 2n, createRecords: [claim(USERNAMES, `leased-${i}`, 100 + i)] });
      opened.push(begun.leaseUuid!.value);
    }
    await cell2.commitUpdate({ cellId: 2n, leaseUuid: { value: opened[4]! } }); // finished: not listed
    const listed: string[] = [];
    let next: Awaited<ReturnType<typeof cell2.listLeases>>['next'];
    do {
      const page = await cell2.listLeases({ cellId: 2n, limit: 2, next });
      expect(page.leases.length).toBeLessThanOrEqual(2);
      listed.push(...page.leases.map((l) => l.uuid!.value));
      next = page.next;
    } while (next);
    expect(listed).toEqual(opened.slice(0, 4));

    const future = await cell2.listLeases({ cellId: 2n, createdAfter: timestampFromDate(new Date(Date.now() + 3_600_000)) });
    expect(future.leases).toHaveLength(0);
    expect(future.next).toBeUndefined();
    await expectCode(cell2.listLeases({ cellId: 2n, limit: -1 }), Code.InvalidArgument);
    await expectCode(cell2.listLeases({ cellId: 2n, next: { typeUrl: 'type.googleapis.com/google.protobuf.StringValue', value: new Uint8Array([10, 3, 120, 121, 122]) } }), Code.InvalidArgument);
    await expectCode(cell2.listLeases({ cellId: 1n }), Code.PermissionDenied);
    for (const lease of opened.slice(0, 4)) await cell2.rollbackUpdate({ cellId: 2n, leaseUuid: { value: lease } });
  });
});

describe('Classify', () => {
  test('routes by claims, session prefix, cell id and first cell', async () => {
    const router = h.classify(ROUTER_TOKEN);
    const byRoute = await router.classify({ claims: [{ claim: { case: 'username', value: 'nobody' } }, { claim: { case: 'username', value: 'elsewhere' } }] });
    expect(byRoute.action).toBe(ClassifyAction.PROXY);
    expect(byRoute.proxy?.address).toBe('cell-2.test:443');
    expect(byRoute.matchedClaim?.claim).toEqual({ case: 'username', value: 'elsewhere' });
    const byId = await router.classify({ claims: [{ claim: { case: 'userId', value: 7n } }] });
    expect(byId.proxy?.address).toBe('cell-1.test:443');
    expect((await router.classify({ type: ClassifyType.SESSION_PREFIX, value: 'cell-2-abcdef' })).proxy?.address).toBe('cell-2.test:443');
    expect((await router.classify({ type: ClassifyType.CELL_ID, value: '1' })).proxy?.address).toBe('cell-1.test:443');
    expect((await router.classify({ type: ClassifyType.FIRST_CELL })).proxy?.address).toBe('cell-1.test:443');
    await expectCode(router.classify({ claims: [{ claim: { case: 'route', value: 'unclaimed-group' } }] }), Code.NotFound);
    await expectCode(router.classify({ type: ClassifyType.CELL_ID, value: '99' }), Code.NotFound);
    await expectCode(router.classify({}), Code.InvalidArgument);
    await expectCode(router.classify({ claims: [{}] }), Code.InvalidArgument);
  });

  test('a claim still being created does not route; cells and admins may classify too', async () => {
    const cell1 = h.claims(CELL_1_TOKEN);
    const begun = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'not-yet', 900)] });
    await expectCode(h.classify(ROUTER_TOKEN).classify({ claims: [{ claim: { case: 'username', value: 'not-yet' } }] }), Code.NotFound);
    await cell1.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });
    for (const token of [CELL_2_TOKEN, ADMIN_TOKEN]) {
      const found = await h.classify(token).classify({ claims: [{ claim: { case: 'username', value: 'not-yet' } }] });
      expect(found.proxy?.address).toBe('cell-1.test:443');
    }
  });
});
