import type { Sql } from '@meridian/db';
import { derive, RegistryState, VerificationState, type ReplicatorDefinition } from '@meridian/geo';
import { latestDoubleChecks, type RecordedDoubleCheck } from './double-check-store';
import { maintenanceState, type MaintenanceState } from './maintenance';

/** The claims verification state of one claimable model of the source cell (from @meridian/claims). */
export interface ClaimsModelState {
  model: string;
  /** its verification flag */
  enabled: boolean;
  lastPass?: { finishedAt: Date; conflicts: number; rows: number };
}

/** The target's registries of a set of rows, by sync state (and, for synced ones, verification). */
export interface RegistryStateCounts {
  pending: number;
  started: number;
  failed: number;
  synced: number;
  /** synced and verified against the source's checksum */
  verified: number;
  verificationFailed: number;
}

interface StateCounts extends RegistryStateCounts {
  registered: number;
}

export interface TypeReadiness extends RegistryStateCounts {
  type: string;
  /** the organization's rows on the source */
  rows: number;
  /** of those, without a registry on the target */
  unregistered: number;
  doubleCheck?: {
    finishedAt: Date;
    ageMs: number;
    dryRun: boolean;
    checked: number;
    missing: number;
    /** repaired registries not yet synced and verified */
    open: number;
    orphaned: number;
  };
}

export interface ReadinessReport {
  organizationId: bigint;
  ready: boolean;
  /** every reason it is not ready (empty when ready) */
  reasons: string[];
  /** what an operator should know but does not block the cutover */
  warnings: string[];
  maintenance: MaintenanceState;
  types: TypeReadiness[];
  claims: ClaimsModelState[];
}

export interface ReadinessOptions {
  main: Sql;
  tracking: Sql;
  replicators: readonly ReplicatorDefinition[];
  organizationId: bigint;
  claims: readonly ClaimsModelState[];
  now?: Date;
}

const CHUNK = 10_000;


async function registryCounts(tracking: Sql, definition: ReplicatorDefinition, ids: readonly bigint[]): Promise<StateCounts> {
  const { registryTable, modelIdColumn } = derive(definition);
  const out: StateCounts = { pending: 0, started: 0, failed: 0, synced: 0, verified: 0, verificationFailed: 0, registered: 0 };
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK).map(String);
    const rows = await tracking<{ state: number; verification_state: number; n: bigint }[]>`
      select state, verification_state, count(*)::bigint as n from ${tracking(registryTable)}
      where ${tracking(modelIdColumn)} = any(${chunk}::bigint[]) group by 1, 2`;
    for (const row of rows) {
      const n = Number(row.n);
      out.registered += n;
      if (row.state === RegistryState.pending) out.pending += n;
      else if (row.state === RegistryState.started) out.started += n;
      else if (row.state === RegistryState.failed) out.failed += n;
      else if (row.state === RegistryState.synced) {
        out.synced += n;
        if (row.verification_state === VerificationState.succeeded) out.verified += n;
        if (row.verification_state === VerificationState.failed) out.verificationFailed += n;
      }
    }
  }
  return out;
}

function describeDoubleCheck(check: RecordedDoubleCheck | undefined, open: number, now: Date): TypeReadiness['doubleCheck'] {
  if (!check) return undefined;
  return {
    finishedAt: check.finishedAt,
    ageMs: now.getTime() - check.finishedAt.getTime(),
    dryRun: check.dryRun,
    checked: check.checked,
    missing: check.missingIds.length,
    open,
    orphaned: check.orphanedIds.length,
  };
}

/**
 * Whether an organization can be cut over to this (target) site: maintenance mode is on, every
 * row of the organization has a registry here that is synced and verified, a double check ran
 * after maintenance began with no finding still open, and claims verification of every
 * claimable model completed a pass without conflicts. Every failed condition is a reason.
 */
export async function readinessReport(options: ReadinessOptions): Promise<ReadinessReport> {
  const { main, tracking, organizationId } = options;
  const now = options.now ?? new Date();
  const reasons: string[] = [];
  const warnings: string[] = [];
  const [maintenance, checks] = await Promise.all([maintenanceState(main, organizationId), latestDoubleChecks(tracking, organizationId)]);
  if (!maintenance.enabled) reasons.push(`organization ${organizationId} is not in maintenance mode: writes (and so new events) can still arrive`);

  const types: TypeReadiness[] = [];
  for (const definition of options.replicators) {
    if (!definition.organizationIdSql) {
      warnings.push(`${definition.name} is not organization-scoped: not part of this report`);
      continue;
    }
    const ids = (
      await main<{ id: bigint }[]>`
        select m.id from ${main(definition.table)} m where ${main.unsafe(definition.organizationIdSql('m'))} = ${organizationId.toString()}`
    ).map((r) => BigInt(r.id));
    const counts = await registryCounts(tracking, definition, ids);
    const check = checks.get(definition.name);
    // a repaired registry stays an open finding until it is synced and verified
    const own = new Set(ids);
    const repaired = check && !check.dryRun ? check.missingIds.filter((id) => own.has(id)) : [];
    const repairedCounts = await registryCounts(tracking, definition, repaired);
    const open = check ? (check.dryRun ? check.missingIds.length : repaired.length - repairedCounts.verified) : 0;
    const type: TypeReadiness = {
      type: definition.name,
      rows: ids.length,
      unregistered: ids.length - counts.registered,
      pending: counts.pending,
      started: counts.started,
      failed: counts.failed,
      synced: counts.synced,
      verified: counts.verified,
      verificationFailed: counts.verificationFailed,
      doubleCheck: describeDoubleCheck(check, open, now),
    };
    types.push(type);
    const name = definition.name;
    if (type.unregistered > 0) reasons.push(`${name}: ${type.unregistered} of ${type.rows} rows have no registry on this site`);
    if (type.pending + type.started > 0) reasons.push(`${name}: ${type.pending + type.started} registries not synced yet`);
    if (type.failed > 0) reasons.push(`${name}: ${type.failed} registries failed to sync`);
    if (type.synced - type.verified > 0) reasons.push(`${name}: ${type.synced - type.verified} synced registries not verified (${type.verificationFailed} failed verification)`);
    if (!check) reasons.push(`${name}: no double check has run for this organization`);
    else {
      if (maintenance.enabledAt && check.finishedAt < maintenance.enabledAt) reasons.push(`${name}: the last double check ran before maintenance mode began; run it again`);
      if (check.dryRun && check.missingIds.length > 0) reasons.push(`${name}: the last double check was a dry run that found ${check.missingIds.length} missing registries; run it without --dry-run`);
      else if (open > 0) reasons.push(`${name}: ${open} registries created by the last double check are not synced and verified yet`);
      if (check.orphanedIds.length > 0) warnings.push(`${name}: ${check.orphanedIds.length} registries whose source row is gone (dropped deletes; reported, not removed)`);
    }
  }

  for (const model of options.claims) {
    if (!model.enabled) reasons.push(`claims verification of ${model.model} is disabled`);
    else if (!model.lastPass) reasons.push(`claims verification of ${model.model} has not completed a pass`);
    else if (model.lastPass.conflicts > 0) reasons.push(`claims verification of ${model.model}: ${model.lastPass.conflicts} conflicts in its last pass need an operator`);
  }
  return { organizationId, ready: reasons.length === 0, reasons, warnings, maintenance, types, claims: [...options.claims] };
}
