import type { TypeDoubleCheck } from './double-check';
import type { ReadinessReport } from './readiness';

// One JSON shape for the CLI's --json and the HTTP API: ids as strings (they are bigints), times ISO.

export function doubleCheckJson(results: readonly TypeDoubleCheck[]) {
  return {
    missing: results.reduce((n, r) => n + r.missingIds.length, 0),
    types: results.map((r) => ({
      type: r.type,
      organization_id: r.organizationId?.toString() ?? null,
      since: r.since.toISOString(),
      until: r.until.toISOString(),
      window: r.windowSource,
      dry_run: r.dryRun,
      checked: r.checked,
      missing: r.missingIds.length,
      missing_ids: r.missingIds.map(String),
      orphaned: r.orphanedIds.length,
      orphaned_ids: r.orphanedIds.map(String),
      repaired: r.dryRun ? 0 : r.missingIds.length,
    })),
  };
}

export function readinessJson(report: ReadinessReport) {
  return {
    organization_id: report.organizationId.toString(),
    ready: report.ready,
    verdict: report.ready ? 'READY' : 'NOT READY',
    reasons: report.reasons,
    warnings: report.warnings,
    maintenance: {
      enabled: report.maintenance.enabled,
      enabled_at: report.maintenance.enabledAt?.toISOString() ?? null,
      enabled_by: report.maintenance.enabledBy ?? null,
    },
    types: report.types.map((t) => ({
      type: t.type,
      rows: t.rows,
      unregistered: t.unregistered,
      pending: t.pending,
      started: t.started,
      failed: t.failed,
      synced: t.synced,
      verified: t.verified,
      verification_failed: t.verificationFailed,
      double_check: t.doubleCheck
        ? {
            finished_at: t.doubleCheck.finishedAt.toISOString(),
            age_seconds: Math.round(t.doubleCheck.ageMs / 1000),
            dry_run: t.doubleCheck.dryRun,
            checked: t.doubleCheck.checked,
            missing: t.doubleCheck.missing,
            open: t.doubleCheck.open,
            orphaned: t.doubleCheck.orphaned,
          }
        : null,
    })),
    claims: report.claims.map((c) => ({
      model: c.model,
      enabled: c.enabled,
      last_pass: c.lastPass ? { finished_at: c.lastPass.finishedAt.toISOString(), conflicts: c.lastPass.conflicts, rows: c.lastPass.rows } : null,
    })),
  };
}
