import type { z } from 'zod';
import type { bulkClaimsPayload } from './bulk-claims-job';
import type { Row } from './claimable';
import type { Claims } from './claims-context';
import { MAX_RECORDS_PER_UPDATE, MAX_UPDATE_BYTES, RECORD_OVERHEAD_BYTES } from './limits';

const utf8 = new TextEncoder();

/** Splits records into BeginUpdates of at most 1,000 records and about 10 MB (upstream limits). */
export function chunkRecords<T extends { bucket: { value: string } }>(records: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = utf8.encode(record.bucket.value).length + RECORD_OVERHEAD_BYTES;
    if (current.length > 0 && (current.length >= MAX_RECORDS_PER_UPDATE || bytes + size > MAX_UPDATE_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

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
    for (const chunk of chunkRecords(creates)) {
      const lease = await client.beginUpdate({ creates: chunk }, { mode: 'background' });
      await client.commitUpdate(lease, { mode: 'background' });
    }
    return { created: creates.length, destroyed: 0 };
  }
  const destroys = payload.destroys.map((key) => ({ bucket: key }));
  for (const chunk of chunkRecords(destroys)) {
    const lease = await client.beginUpdate({ destroys: chunk }, { mode: 'background' });
    await client.commitUpdate(lease, { mode: 'background' });
  }
  return { created: 0, destroyed: destroys.length };
}
