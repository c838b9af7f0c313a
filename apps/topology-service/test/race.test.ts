import { Code, ConnectError } from '@connectrpc/connect';
import { CELL_1_TOKEN, CELL_2_TOKEN, startHarness, type Harness } from './harness';
import { claim, USERNAMES } from './fixtures';

// Two cells claim the same 1,000 values at once, in opposite orders. The unique index decides:
// every value ends up owned by exactly one cell and every loser is told ALREADY_EXISTS.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const VALUES = Array.from({ length: 1000 }, (_, i) => `racer-${i}`);
const IN_FLIGHT = 16;

async function claimAll(token: string, cellId: bigint, values: string[]): Promise<Map<string, 'won' | 'lost'>> {
  const client = h.claims(token);
  const outcome = new Map<string, 'won' | 'lost'>();
  let next = 0;
  const worker = async () => {
    while (next < values.length) {
      const value = values[next++]!;
      try {
        const begun = await client.beginUpdate({ cellId, createRecords: [claim(USERNAMES, value, Number(cellId))] });
        await client.commitUpdate({ cellId, leaseUuid: begun.leaseUuid });
        outcome.set(value, 'won');
      } catch (error) {
        const e = ConnectError.from(error);
        if (e.code !== Code.AlreadyExists) throw e;
        outcome.set(value, 'lost');
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return outcome;
}

test('two cells racing 1,000 creates: each value has exactly one owner, every loser is ALREADY_EXISTS', async () => {
  const [one, two] = await Promise.all([
    claimAll(CELL_1_TOKEN, 1n, VALUES),
    claimAll(CELL_2_TOKEN, 2n, [...VALUES].reverse()),
  ]);
  const owners = await h.sql<{ bucket_value: string; cell_id: bigint; status: number }[]>`
    select bucket_value, cell_id, status from claims where bucket_type = ${USERNAMES}`;
  expect(owners).toHaveLength(VALUES.length);
  const ownerOf = new Map(owners.map((r) => [r.bucket_value, r]));
  for (const value of VALUES) {
    const won = [one.get(value), two.get(value)].filter((o) => o === 'won');
    expect(won).toHaveLength(1);
    const row = ownerOf.get(value)!;
    expect(row.status).toBe(1);
    expect(row.cell_id).toBe(one.get(value) === 'won' ? 1n : 2n);
  }
  const open = await h.sql`select 1 from claim_leases where state = 'open'`;
  expect(open).toHaveLength(0);
});
