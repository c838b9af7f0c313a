import type { Sql } from '@meridian/db';

export interface MaintenanceState {
  enabled: boolean;
  enabledAt?: Date;
  enabledBy?: string;
}

/** Freezes (or unfreezes) an organization for its cutover; recorded in the source's main database. */
export async function setMaintenance(main: Sql, organizationId: bigint, enabled: boolean, by: string): Promise<void> {
  if (enabled) {
    await main`
      insert into org_move_maintenance (organization_id, enabled_by) values (${organizationId.toString()}, ${by})
      on conflict (organization_id) do nothing`;
  } else {
    await main`delete from org_move_maintenance where organization_id = ${organizationId.toString()}`;
  }
}

export async function maintenanceState(main: Sql, organizationId: bigint): Promise<MaintenanceState> {
  const [row] = await main<{ enabled_at: Date; enabled_by: string }[]>`
    select enabled_at, enabled_by from org_move_maintenance where organization_id = ${organizationId.toString()}`;
  return row ? { enabled: true, enabledAt: row.enabled_at, enabledBy: row.enabled_by } : { enabled: false };
}
