import type { ReplicatorDefinition } from '../replicator';

/**
 * The registry's count trigger function: `bump(rows)` adds the per-state deltas of `rows` (state,
 * delta); `declare` holds its variables. Step 0001 created it, a later step replaces it.
 */
export function registryCountedFunction(r: ReplicatorDefinition, verb: 'create' | 'create or replace', declare: string, bump: (rows: string) => string): string {
  return `      ${verb} function geo_${r.name}_registry_counted() returns trigger language plpgsql as $$
      ${declare}begin
        if tg_op = 'INSERT' then
          ${bump('select state, 1 as delta from new_rows')}
        elsif tg_op = 'DELETE' then
          ${bump('select state, -1 as delta from old_rows')}
        else
          ${bump('select n.state, 1 as delta from new_rows n join old_rows o on o.id = n.id where o.state <> n.state union all select o.state, -1 from new_rows n join old_rows o on o.id = n.id where o.state <> n.state')}
        end if;
        return null;
      end $$;
`;
}
