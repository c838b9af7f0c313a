import type { Sql } from '@meridian/db';
import type { TypeDoubleCheck } from './double-check';

type Result = Omit<TypeDoubleCheck, 'id'>;

/** Records one type's double check (dry runs too: the readiness report reads the latest). */
export async function recordDoubleCheck(tracking: Sql, result: Result, startedAt: Date): Promise<bigint> {
  const [row] = await tracking<{ id: bigint }[]>`
    insert into org_move_double_checks
      (replicable_name, organization_id, since, until, window_source, dry_run, checked, missing_ids, orphaned_ids, started_at)
    values (${result.type}, ${result.organizationId?.toString() ?? null}, ${result.since}, ${result.until}, ${result.windowSource},
      ${result.dryRun}, ${result.checked}, ${result.missingIds.map(String)}::bigint[], ${result.orphanedIds.map(String)}::bigint[], ${startedAt})
    returning id`;
  return row!.id;
}

export interface RecordedDoubleCheck extends TypeDoubleCheck {
  finishedAt: Date;
}

/**
 * The latest double check per type that covers `organizationId`: one run for that organization,
 * or one over every organization (which covers it too).
 */
export async function latestDoubleChecks(tracking: Sql, organizationId: bigint): Promise<Map<string, RecordedDoubleCheck>> {
  const rows = await tracking<{
    id: bigint; replicable_name: string; organization_id: bigint | null; since: Date; until: Date; window_source: 'since_hours' | 'last_lap';
    dry_run: boolean; checked: bigint; missing_ids: bigint[]; orphaned_ids: bigint[]; finished_at: Date;
  }[]>`
    select distinct on (replicable_name) id, replicable_name, organization_id, since, until, window_source, dry_run, checked,
      missing_ids, orphaned_ids, finished_at
    from org_move_double_checks
    where organization_id = ${organizationId.toString()} or organization_id is null
    order by replicable_name, finished_at desc, id desc`;
  return new Map(
    rows.map((r) => [
      r.replicable_name,
      {
        id: r.id,
        type: r.replicable_name,
        organizationId: r.organization_id ?? undefined,
        since: r.since,
        until: r.until,
        windowSource: r.window_source,
        dryRun: r.dry_run,
        checked: Number(r.checked),
        missingIds: r.missing_ids.map(BigInt),
        orphanedIds: r.orphaned_ids.map(BigInt),
        finishedAt: r.finished_at,
      },
    ]),
  );
}
