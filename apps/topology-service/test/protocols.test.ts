import { Code } from '@connectrpc/connect';
import { ClassifyAction } from '@meridian/proto';
import { CELL_1_TOKEN, CELL_2_TOKEN, ROUTER_TOKEN, startHarness, type Harness, type Protocol } from './harness';
import { claim, expectCode, SOURCE_USERS, USERNAMES } from './fixtures';

// The same calls over every protocol the port speaks: Connect (HTTP/2 and HTTP/1.1), gRPC, and
// gRPC-Web (HTTP/2 and HTTP/1.1).

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const protocols: Protocol[] = ['connect', 'connect-h1', 'grpc', 'grpc-web', 'grpc-web-h1'];

test.each(protocols)('claims lifecycle, errors and classify over %s', async (protocol) => {
  const cell1 = h.claims(CELL_1_TOKEN, protocol);
  const value = `proto-${protocol}`;
  const begun = await cell1.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, value, 7)] });
  await cell1.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });
  await cell1.commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });

  const listed = await cell1.listRecords({ cellId: 1n, sourceType: SOURCE_USERS, bucketTypes: [USERNAMES] });
  expect(listed.records.map((r) => r.metadata?.bucket?.value)).toContain(value);
  expect((await cell1.getCells({})).cells).toHaveLength(2);
  expect((await cell1.listLeases({ cellId: 1n })).leases).toEqual([]);

  const conflict = await expectCode(
    h.claims(CELL_2_TOKEN, protocol).beginUpdate({ cellId: 2n, createRecords: [claim(USERNAMES, value, 8)] }),
    Code.AlreadyExists,
  );
  expect(conflict.rawMessage).toContain(`{USERNAMES=${value}}`);
  await expectCode(cell1.beginUpdate({ cellId: 1n, createRecords: [claim(0, 'x')] }), Code.InvalidArgument);

  const routed = await h.classify(ROUTER_TOKEN, protocol).classify({ claims: [{ claim: { case: 'username', value } }] });
  expect(routed).toMatchObject({ action: ClassifyAction.PROXY, proxy: { address: 'cell-1.test:443' } });

  const destroy = await cell1.beginUpdate({ cellId: 1n, destroyRecords: [claim(USERNAMES, value, 7)] });
  await cell1.rollbackUpdate({ cellId: 1n, leaseUuid: destroy.leaseUuid });
  await cell1.rollbackUpdate({ cellId: 1n, leaseUuid: destroy.leaseUuid });
});
