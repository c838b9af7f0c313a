// Kinds of drift between a cell's table and the Topology Service, and the counts of one run/pass.

export const DRIFT_KINDS = [
  /** the row's claim is not in the service: created */
  'missing_in_service',
  /** the service holds a claim whose row is gone: destroyed */
  'orphaned_in_service',
  /** the row exists but is outside the model's verification scope: destroyed */
  'out_of_scope',
  /** the row's attribute is blank or fails its condition: destroyed */
  'blank_or_condition',
  /** the row's value differs from the service's: destroyed and created */
  'changed_value',
  /** same value, different subject: destroyed and created */
  'changed_subject',
] as const;

export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface VerificationCounts {
  rows: number;
  created: number;
  destroyed: number;
  replaced: number;
  conflicts: number;
  skippedRecent: number;
  drift: Record<DriftKind, number>;
}

export function emptyCounts(): VerificationCounts {
  return {
    rows: 0,
    created: 0,
    destroyed: 0,
    replaced: 0,
    conflicts: 0,
    skippedRecent: 0,
    drift: Object.fromEntries(DRIFT_KINDS.map((k) => [k, 0])) as Record<DriftKind, number>,
  };
}

export function addCounts(into: VerificationCounts, from: VerificationCounts): VerificationCounts {
  into.rows += from.rows;
  into.created += from.created;
  into.destroyed += from.destroyed;
  into.replaced += from.replaced;
  into.conflicts += from.conflicts;
  into.skippedRecent += from.skippedRecent;
  for (const kind of DRIFT_KINDS) into.drift[kind] = (into.drift[kind] ?? 0) + (from.drift[kind] ?? 0);
  return into;
}
