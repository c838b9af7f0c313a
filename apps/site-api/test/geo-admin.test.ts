import { Code, ConnectError } from '@connectrpc/connect';
import type { Sql } from '@meridian/db';
import {
  BulkAction,
  RegistryAction,
  RegistrySort,
  ReplicationState,
  SortDirection,
  VerificationState,
  type ListRegistriesRequestSchema,
  type Registry,
} from '@meridian/proto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { adminClient, ADMIN, basic, createAdminStores, startAdminSite, VIEWER, type AdminSite, type AdminStores } from './geo-admin-harness';

// The registry admin API over real HTTP (a client generated from proto/geo/v1), a real secondary
// site (PostgreSQL tracking database, Redis queues). Expected results come from SQL written here,
// not from the service's own query code.

const TYPE = 'package_file';
const ROWS = 240;

type ListInit = MessageInitShape<typeof ListRegistriesRequestSchema>;

async function codeOf(promise: Promise<unknown>): Promise<Code | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

async function messageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return '(no error)';
  } catch (error) {
    return ConnectError.from(error).rawMessage;
  }
}

/**
 * Registries with every state, ties and NULLs in both sort columns, and microsecond timestamps
 * (a millisecond-rounded page token would skip or repeat rows).
 */
async function seed(sql: Sql, from: number, to: number): Promise<void> {
  await sql`
    insert into package_file_registry
      (package_file_id, state, retry_count, retry_at, last_synced_at, last_sync_failure, blob_path,
       verification_state, verified_at, verification_retry_at, verification_retry_count, checksum_mismatch)
    select g * 3,
           g % 4,
           case when g % 4 = 3 then 1 + g % 3 else 0 end,
           case when g % 4 = 3 then now() + interval '1 hour' end,
           case when g % 5 = 0 then null else timestamptz '2026-01-01 00:00:00+00' + (g % 17) * interval '1.000001 second' end,
           case when g % 4 = 3 then 'Error downloading file: boom ' || g end,
           'packages/' || (g % 10) || '/file-' || g || '.tgz',
           case when g % 4 = 2 then (array[0, 2, 2, 3])[1 + g % 4 / 2 + g % 3] else 0 end,
           case when g % 4 = 2 and g % 7 <> 0 then timestamptz '2026-02-01 00:00:00+00' + (g % 13) * interval '0.000003 second' end,
           case when g % 4 = 2 and g % 3 = 2 then now() + interval '2 hours' end,
           g % 3,
           g % 11 = 0
    from generate_series(${from}::int, ${to}::int) g`;
}

describe('registry admin API (secondary site API)', () => {
  let stores: AdminStores;
  let secondary: AdminSite;
  let sql: Sql;
  const admin = () => adminClient(secondary.base, `Bearer ${ADMIN}`);
  const viewer = () => adminClient(secondary.base, basic('viewer', VIEWER));

  beforeAll(async () => {
    stores = await createAdminStores();
    secondary = await startAdminSite('secondary', stores);
    sql = secondary.site.trackingSql!;
    await seed(sql, 1, ROWS);
  });
  afterAll(async () => {
    await secondary.close();
    await stores.cleanup();
  });

  /** Every page of a query, concatenated, checking no page is larger than asked. */
  async function allPages(request: ListInit, pageSize: number, between?: () => Promise<void>): Promise<Registry[]> {
    const out: Registry[] = [];
    let pageToken = '';
    for (let pages = 0; pages < 1_000; pages += 1) {
      const response = await viewer().listRegistries({ ...request, pageSize, pageToken });
      expect(response.registries.length).toBeLessThanOrEqual(pageSize);
      out.push(...response.registries);
      if (!response.nextPageToken) return out;
      pageToken = response.nextPageToken;
      await between?.();
    }
    throw new Error('paging did not end');
  }

  describe('auth (the site API tokens, as for Bull Board)', () => {
    it('refuses a call without or with an unknown credential: UNAUTHENTICATED', async () => {
      expect(await codeOf(adminClient(secondary.base).listRegistries({ replicable: TYPE }))).toBe(Code.Unauthenticated);
      expect(await codeOf(adminClient(secondary.base, 'Bearer not-a-known-token-000').listRegistries({ replicable: TYPE }))).toBe(Code.Unauthenticated);
      expect(await codeOf(adminClient(secondary.base, basic('admin', VIEWER)).listRegistries({ replicable: TYPE }))).toBe(Code.Unauthenticated);
      expect(await codeOf(adminClient(secondary.base).updateRegistry({ replicable: TYPE, id: 1n, action: RegistryAction.RESYNC }))).toBe(Code.Unauthenticated);
    });

    it('lets a viewer list and read bulk operations, and refuses its updates: PERMISSION_DENIED', async () => {
      for (const client of [viewer(), adminClient(secondary.base, `Bearer ${VIEWER}`)]) {
        expect((await client.listRegistries({ replicable: TYPE })).registries).toHaveLength(20);
        expect(await codeOf(client.updateRegistry({ replicable: TYPE, id: 1n, action: RegistryAction.RESYNC }))).toBe(Code.PermissionDenied);
        expect(await codeOf(client.bulkUpdateRegistries({ replicable: TYPE, action: BulkAction.REVERIFY_ALL }))).toBe(Code.PermissionDenied);
        expect(await codeOf(client.getBulkOperation({ id: 999_999n }))).toBe(Code.NotFound);
      }
      expect(await sql`select count(*)::int as n from geo_registry_bulk_operations`).toEqual([{ n: 0 }]);
    });

    it('serves gRPC-Web clients too (same credentials, same codes)', async () => {
      expect(await codeOf(adminClient(secondary.base, undefined, 'grpc-web').listRegistries({ replicable: TYPE }))).toBe(Code.Unauthenticated);
      const client = adminClient(secondary.base, `Bearer ${VIEWER}`, 'grpc-web');
      expect((await client.listRegistries({ replicable: TYPE, pageSize: 3 })).registries).toHaveLength(3);
      expect(await codeOf(client.updateRegistry({ replicable: TYPE, id: 1n, action: RegistryAction.RESYNC }))).toBe(Code.PermissionDenied);
      expect(await codeOf(client.listRegistries({ replicable: 'no_such_type' }))).toBe(Code.NotFound);
    });

    it('counts answers by RPC and code on /metrics', async () => {
      const body = await (await fetch(`${secondary.base}/metrics`)).text();
      expect(body).toMatch(/^geo_registry_admin_requests_total\{rpc="ListRegistries",code="unauthenticated",site="secondary"\} [1-9]/m);
      expect(body).toMatch(/^geo_registry_admin_requests_total\{rpc="UpdateRegistry",code="permission_denied",site="secondary"\} [1-9]/m);
      expect(body).toMatch(/^geo_registry_admin_requests_total\{rpc="ListRegistries",code="ok",site="secondary"\} [1-9]/m);
    });

    it('lets the admin token (Bearer or Basic) update', async () => {
      const [row] = await sql<{ id: string }[]>`select id::text from package_file_registry where state = 2 order by id limit 1`;
      for (const client of [admin(), adminClient(secondary.base, basic('admin', ADMIN))]) {
        const { registry } = await client.updateRegistry({ replicable: TYPE, id: BigInt(row!.id), action: RegistryAction.REVERIFY });
        expect(registry?.verificationState).toBe(VerificationState.PENDING);
      }
    });
  });

  describe('ListRegistries', () => {
    it('returns the registry fields', async () => {
      const [row] = await sql<{ id: string }[]>`select id::text from package_file_registry where state = 3 and checksum_mismatch order by id limit 1`;
      const { registries } = await viewer().listRegistries({ replicable: TYPE, filter: { ids: [BigInt(row!.id)] } });
      expect(registries).toHaveLength(1);
      const [expected] = await sql<{ model_id: string; retry_count: number; last_sync_failure: string; blob_path: string; retry_at: Date; last_synced_at: Date | null }[]>`
        select package_file_id::text as model_id, retry_count, last_sync_failure, blob_path, retry_at, last_synced_at from package_file_registry where id = ${row!.id}`;
      const r = registries[0]!;
      expect({
        id: r.id.toString(),
        modelId: r.modelId.toString(),
        state: r.replicationState,
        retryCount: r.retryCount,
        failure: r.lastSyncFailure,
        blobPath: r.blobPath,
        checksumMismatch: r.checksumMismatch,
        retryAtMs: r.retryAt ? Number(r.retryAt.seconds) * 1000 + Math.floor(r.retryAt.nanos / 1e6) : null,
      }).toEqual({
        id: row!.id,
        modelId: expected!.model_id,
        state: ReplicationState.FAILED,
        retryCount: expected!.retry_count,
        failure: expected!.last_sync_failure,
        blobPath: expected!.blob_path,
        checksumMismatch: true,
        retryAtMs: expected!.retry_at.getTime(),
      });
      expect(r.lastSyncedAt === undefined).toBe(expected!.last_synced_at === null);
      expect(r.createdAt).toBeDefined();
    });

    // [description, request filter, the same filter in SQL]
    const filters: Array<[string, ListInit['filter'], (s: Sql) => ReturnType<Sql>]> = [
      ['no filter', undefined, (s) => s`true`],
      ['replication_state failed', { replicationState: ReplicationState.FAILED }, (s) => s`state = 3`],
      ['verification_state succeeded', { verificationState: VerificationState.SUCCEEDED }, (s) => s`verification_state = 2`],
      ['synced and verification failed', { replicationState: ReplicationState.SYNCED, verificationState: VerificationState.FAILED }, (s) => s`state = 2 and verification_state = 3`],
      ['keyword in the blob path', { keyword: 'PACKAGES/7/' }, (s) => s`blob_path like 'packages/7/%'`],
      ['keyword matching model ids as text', { keyword: '33' }, (s) => s`(blob_path like '%33%' or package_file_id::text like '%33%')`],
      ['keyword with LIKE wildcards is literal', { keyword: '%_' }, (s) => s`false`],
      ['ids', { ids: [5n, 1n, 77n, 5n, 100_000n] }, (s) => s`id in (1, 5, 77)`],
    ];
    const sorts: Array<[RegistrySort, string]> = [
      [RegistrySort.UNSPECIFIED, 'id'],
      [RegistrySort.VERIFIED_AT, 'verified_at'],
      [RegistrySort.LAST_SYNCED_AT, 'last_synced_at'],
    ];

    it.each(filters)('filters (%s): every page concatenated is exactly the filtered set, in each sort order', async (_name, filter, where) => {
      for (const [sort, column] of sorts) {
        for (const direction of [SortDirection.ASC, SortDirection.DESC]) {
          const dir = direction === SortDirection.DESC ? sql`desc` : sql`asc`;
          const order = column === 'id' ? sql`order by id ${dir}` : sql`order by ${sql(column)} ${dir} nulls last, id ${dir}`;
          // (an output column named id would be what ORDER BY sorts: as text)
          const expected = (await sql<{ rid: string }[]>`select id::text as rid from package_file_registry where ${where(sql)} ${order}`).map((r) => r.rid);
          const got = (await allPages({ replicable: TYPE, filter, sort, direction }, 7)).map((r) => r.id.toString());
          expect([column, direction, got]).toEqual([column, direction, expected]);
        }
      }
    });

    it('pages stay stable while rows are inserted between pages (keyset tokens)', async () => {
      const before = (await sql<{ rid: string }[]>`select id::text as rid from package_file_registry order by last_synced_at desc nulls last, id desc`).map((r) => r.rid);
      let next = 10_000;
      const got = await allPages({ replicable: TYPE, sort: RegistrySort.LAST_SYNCED_AT, direction: SortDirection.DESC }, 25, async () => {
        // newer rows in the middle and at both ends of the order
        await seed(sql, next, next + 2);
        next += 3;
      });
      const ids = got.map((r) => r.id.toString());
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.filter((id) => before.includes(id))).toEqual(before);
      await sql`delete from package_file_registry where package_file_id >= ${10_000 * 3}`;
    });

    it('defaults to 20 per page and accepts up to 100', async () => {
      expect((await viewer().listRegistries({ replicable: TYPE })).registries).toHaveLength(20);
      const page = await viewer().listRegistries({ replicable: TYPE, pageSize: 100 });
      expect(page.registries).toHaveLength(100);
      expect(page.nextPageToken).not.toBe('');
      const last = await viewer().listRegistries({ replicable: TYPE, pageSize: 100, filter: { ids: [1n, 2n] } });
      expect([last.registries.length, last.nextPageToken]).toEqual([2, '']);
    });
  });

  describe('errors', () => {
    it('answers bad arguments with INVALID_ARGUMENT and a message', async () => {
      const first = await viewer().listRegistries({ replicable: TYPE, pageSize: 5 });
      const other = await viewer().listRegistries({ replicable: TYPE, pageSize: 5, sort: RegistrySort.VERIFIED_AT });
      const cases: Array<[string, Promise<unknown>, RegExp]> = [
        ['page size over 100', viewer().listRegistries({ replicable: TYPE, pageSize: 101 }), /page_size: must be 1\.\.100/],
        ['negative page size', viewer().listRegistries({ replicable: TYPE, pageSize: -1 }), /page_size/],
        ['token of another sort', viewer().listRegistries({ replicable: TYPE, pageSize: 5, pageToken: other.nextPageToken }), /different query/],
        ['token of another filter', viewer().listRegistries({ replicable: TYPE, pageToken: first.nextPageToken, filter: { keyword: 'x' } }), /different query/],
        ['garbage token', viewer().listRegistries({ replicable: TYPE, pageToken: 'not-a-token' }), /page_token/],
        ['unknown enum value', viewer().listRegistries({ replicable: TYPE, filter: { replicationState: 42 as ReplicationState } }), /replication_state: unknown value 42/],
        ['unknown sort', viewer().listRegistries({ replicable: TYPE, sort: 9 as RegistrySort }), /sort/],
        ['too many ids', viewer().listRegistries({ replicable: TYPE, filter: { ids: Array.from({ length: 1_001 }, (_, i) => BigInt(i + 1)) } }), /at most 1000/],
        ['negative id', viewer().listRegistries({ replicable: TYPE, filter: { ids: [-1n] } }), /not a positive registry id/],
        ['no replicable', viewer().listRegistries({}), /replicable: required/],
        ['no action', admin().updateRegistry({ replicable: TYPE, id: 1n }), /action: required/],
        ['no bulk action', admin().bulkUpdateRegistries({ replicable: TYPE }), /action: required/],
        ['id 0', admin().updateRegistry({ replicable: TYPE, id: 0n, action: RegistryAction.RESYNC }), /not a positive/],
      ];
      for (const [name, call, message] of cases) {
        const code = await codeOf(call);
        expect([name, code]).toEqual([name, Code.InvalidArgument]);
        expect([name, await messageOf(call)]).toEqual([name, expect.stringMatching(message)]);
      }
      expect(first.nextPageToken).not.toBe('');
    });

    it('answers an unknown type, registry or bulk operation with NOT_FOUND', async () => {
      expect(await messageOf(viewer().listRegistries({ replicable: 'lfs_object' }))).toMatch(/unknown replicable "lfs_object" \(this site replicates package_file/);
      expect(await codeOf(viewer().listRegistries({ replicable: 'lfs_object' }))).toBe(Code.NotFound);
      expect(await codeOf(admin().bulkUpdateRegistries({ replicable: 'lfs_object', action: BulkAction.RESYNC_ALL }))).toBe(Code.NotFound);
      expect(await codeOf(admin().updateRegistry({ replicable: TYPE, id: 9_999_999n, action: RegistryAction.RESYNC }))).toBe(Code.NotFound);
      expect(await codeOf(admin().getBulkOperation({ id: 9_999_999n }))).toBe(Code.NotFound);
    });

    it('answers on a primary with FAILED_PRECONDITION', async () => {
      const primary = await startAdminSite('primary', stores);
      try {
        const client = adminClient(primary.base, `Bearer ${ADMIN}`);
        expect(await codeOf(client.listRegistries({ replicable: TYPE }))).toBe(Code.FailedPrecondition);
        expect(await messageOf(client.listRegistries({ replicable: TYPE }))).toMatch(/primary: registries exist on secondary sites only/);
        expect(await codeOf(client.updateRegistry({ replicable: TYPE, id: 1n, action: RegistryAction.RESYNC }))).toBe(Code.FailedPrecondition);
        expect(await codeOf(adminClient(primary.base).listRegistries({ replicable: TYPE }))).toBe(Code.Unauthenticated);
      } finally {
        await primary.close();
      }
    });
  });

  describe('UpdateRegistry', () => {
    it('RESYNC: a failed registry is pending again, its retry wait cleared, and its sync is queued', async () => {
      const [row] = await sql<{ id: string; model_id: string; retry_count: number }[]>`
        select id::text, package_file_id::text as model_id, retry_count from package_file_registry where state = 3 and retry_at > now() order by id limit 1`;
      const { registry } = await admin().updateRegistry({ replicable: TYPE, id: BigInt(row!.id), action: RegistryAction.RESYNC });
      expect([registry?.replicationState, registry?.retryAt, registry?.retryCount]).toEqual([ReplicationState.PENDING, undefined, row!.retry_count]);
      expect(await sql`select state, retry_at from package_file_registry where id = ${row!.id}`).toEqual([{ state: 0, retry_at: null }]);
      const queue = secondary.site.queues.all().find((q) => q.name === 'geo.sync.package_file')!;
      const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active']);
      expect(jobs.flatMap((j) => (j.data as { modelIds: string[] }).modelIds)).toContain(row!.model_id);
    });

    it('REVERIFY: verification is pending again with its retry wait cleared; replication is untouched', async () => {
      const [row] = await sql<{ id: string }[]>`
        select id::text from package_file_registry where state = 2 and verification_retry_at is not null order by id limit 1`;
      const { registry } = await admin().updateRegistry({ replicable: TYPE, id: BigInt(row!.id), action: RegistryAction.REVERIFY });
      expect([registry?.verificationState, registry?.verificationRetryAt, registry?.replicationState]).toEqual([VerificationState.PENDING, undefined, ReplicationState.SYNCED]);
      expect(await sql`select state, verification_state, verification_retry_at from package_file_registry where id = ${row!.id}`).toEqual([
        { state: 2, verification_state: 0, verification_retry_at: null },
      ]);
    });
  });
});
