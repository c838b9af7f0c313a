import type { z } from 'zod';
import type { bulkClaimsPayload } from './bulk-claims-job';
import type { Row } from './claimable';
import type { Claims } from './claims-context';

/**
 * One bulk-claims job: BeginUpdate then CommitUpdate at once (no local lease: nothing local is
 * pending). A failed CommitUpdate leaves a service-only lease that recovery rolls back, and the
 * job's retry claims again. Outside any transaction, with background deadlines (10 s, 3 tries).
 */
export async function runBulkClaims(claims: Claims, payload: z.output<typeof bulkClaimsPayload>): Promise<{ created: number; destroyed: number }> {
  const client = claims.client;
  const state = await claims.state();
  if (!client || !state) return { created: 0, destroyed: 0 };
  const model = claims.modelNamed(payload.model);
  if (!model) throw new Error(`bulk claims for unknown claimable model "${payload.model}"`);
  if ('createIds' in payload) {
    const rows = await claims.sql<Row[]>`select * from ${claims.sql(model.table)} where ${claims.sql(model.primaryKey)} in ${claims.sql(payload.createIds)}`;
    const creates = rows.flatMap((row) => model.claimsOf(row, (_c, attribute) => state.attributeEnabled(attribute)));
    if (creates.length === 0) return { created: 0, destroyed: 0 };
    const lease = await client.beginUpdate({ creates }, { mode: 'background' });
    await client.commitUpdate(lease, { mode: 'background' });
    return { created: creates.length, destroyed: 0 };
  }
  const destroys = payload.destroys.map((key) => ({ bucket: key }));
  const lease = await client.beginUpdate({ destroys }, { mode: 'background' });
  await client.commitUpdate(lease, { mode: 'background' });
  return { created: 0, destroyed: destroys.length };
}
