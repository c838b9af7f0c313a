import { derive, type ReplicatorDefinition } from '../replicator';

/**
 * The model table's insert and delete trigger functions (events, state rows, the row count).
 * `count(sign, rows)` is the statement that adds the rows' count; `declare` its variables. Step
 * 0001 created them; a later step replaces them with the same events and a new count.
 */
export function modelTriggerFunctions(
  r: ReplicatorDefinition,
  verb: 'create' | 'create or replace',
  declare: string,
  count: (sign: '' | '-', rows: 'new_rows' | 'old_rows') => string,
): { inserted: string; deleted: string } {
  const d = derive(r);
  const name = r.name.replace(/'/g, "''");
  const payload = (alias: string) => `jsonb_build_object('model_record_id', ${alias}.id, 'blob_path', ${alias}.${r.blobPathColumn})`;
  return {
    inserted: `      ${verb} function geo_${r.name}_inserted() returns trigger language plpgsql as $$
      ${declare}begin
        insert into geo_events (replicable_name, event_name, payload)
        select '${name}', 'created', ${payload('n')} from new_rows n order by n.id;
        insert into ${d.statesTable} (${d.modelIdColumn}) select id from new_rows;
        ${count('', 'new_rows')}
        return null;
      end $$;
`,
    deleted: `      ${verb} function geo_${r.name}_deleted() returns trigger language plpgsql as $$
      ${declare}begin
        insert into geo_events (replicable_name, event_name, payload)
        select '${name}', 'deleted', ${payload('o')} from old_rows o order by o.id;
        ${count('-', 'old_rows')}
        return null;
      end $$;
`,
  };
}

/** SQL true when an update (old row `o`, new row `n`) changed the blob: its path, or its checksum column. */
export function blobChangedSql(r: ReplicatorDefinition): string {
  const path = r.blobPathColumn;
  return r.checksumColumn
    ? `o.${path} is distinct from n.${path} or o.${r.checksumColumn} is distinct from n.${r.checksumColumn}`
    : `o.${path} is distinct from n.${path}`;
}
