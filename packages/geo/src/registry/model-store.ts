import type { Sql } from '@meridian/db';
import type { ReplicatorDefinition } from '../replicator';

export interface ModelBlob {
  id: bigint;
  blobPath: string;
  checksum: string | null;
}

/**
 * Reads of a replicator's model table in the main database (the primary's, read-only on a
 * secondary). `organizations` narrows to the selective-sync scope; empty means everything.
 */
export function modelStore(definition: ReplicatorDefinition) {
  const table = definition.table;
  const path = definition.blobPathColumn;
  const checksum = definition.checksumColumn;
  const scopeClause = (sql: Sql, organizations: readonly bigint[]) => {
    if (organizations.length === 0 || !definition.organizationIdSql) return sql``;
    return sql`and ${sql.unsafe(definition.organizationIdSql('m'))} = any(${organizations.map(String)}::bigint[])`;
  };
  return {
    async lookup(sql: Sql, id: bigint): Promise<ModelBlob | undefined> {
      return (await this.lookupMany(sql, [id]))[0];
    },

    async lookupMany(sql: Sql, ids: readonly bigint[]): Promise<ModelBlob[]> {
      if (ids.length === 0) return [];
      const rows = await sql<{ id: bigint; blob_path: string; checksum: string | null }[]>`
        select m.id, m.${sql(path)} as blob_path, ${checksum ? sql`m.${sql(checksum)}` : sql`null::text`} as checksum
        from ${sql(table)} m where m.id = any(${ids.map(String)}::bigint[])`;
      return rows.map((row) => ({ id: row.id, blobPath: row.blob_path, checksum: row.checksum }));
    },

    /** ids among `ids` that exist and are in scope */
    async inScope(sql: Sql, ids: readonly bigint[], organizations: readonly bigint[]): Promise<Set<bigint>> {
      if (ids.length === 0) return new Set();
      const rows = await sql<{ id: bigint }[]>`
        select m.id from ${sql(table)} m
        where m.id = any(${ids.map(String)}::bigint[]) ${scopeClause(sql, organizations)}`;
      return new Set(rows.map((r) => r.id));
    },

    /** the next `limit` ids ≥ `from` (unscoped: the consistency walk's key space) */
    async idsFrom(sql: Sql, from: bigint, limit: number): Promise<bigint[]> {
      const rows = await sql<{ id: bigint }[]>`
        select id from ${sql(table)} where id >= ${from.toString()} order by id limit ${limit}`;
      return rows.map((r) => r.id);
    },

    /** ids in [from, to] that are in scope */
    async scopedIdsBetween(sql: Sql, from: bigint, to: bigint, organizations: readonly bigint[]): Promise<bigint[]> {
      const rows = await sql<{ id: bigint }[]>`
        select m.id from ${sql(table)} m
        where m.id between ${from.toString()} and ${to.toString()} ${scopeClause(sql, organizations)}`;
      return rows.map((r) => r.id);
    },
  };
}

export type ModelStore = ReturnType<typeof modelStore>;
