import { createSql, transactionScope } from '@meridian/db';
import { createSilentLogger } from '@meridian/logger';
import { createTopologyClient } from '@meridian/topology-client';
import { createClaims, withClaims } from '../../src';
import { models, users } from '../fixtures';

// Child process for the SIGKILL test: BeginUpdate succeeds, the lease row is written, and the
// process then hangs before COMMIT until the test kills it.
const env = process.env as Record<string, string>;
const sql = createSql(env.CELL_DB_URL!, { max: 2 });
const claims = createClaims({
  sql,
  client: createTopologyClient({ baseUrl: env.TOPOLOGY_URL!, credential: env.CELL_CREDENTIAL!, cellId: 1, policies: { transaction: { timeoutMs: 10_000 } } }),
  models,
  logger: createSilentLogger(),
  flagCacheMs: 0,
});
void withClaims(claims, sql, async (w) => {
  await w.insert(users, { username: env.USERNAME! });
  transactionScope(w.tx)!.addHooks({
    beforeCommit: async () => {
      process.stdout.write('LEASE_OPEN\n');
      await new Promise(() => undefined);
    },
  });
});
