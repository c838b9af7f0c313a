import { cellClaimables } from '@meridian/cell-models';
import { listPasses, verificationFlags } from '@meridian/claims';
import { isFlagEnabled, type Sql } from '@meridian/db';
import type { ReplicatorDefinition } from '@meridian/geo';
import { doubleCheckJson, NoCompletedLapError, OrganizationScopeError, orgMoveMainMigrations, orgMoveTrackingMigrations, runDoubleCheck, type ClaimsModelState } from '@meridian/org-move';
import express from 'express';
import { defineFeatureModule } from '../feature-module';

// Org-move cutover safety as a feature module. Its migrations add the window indexes to the source
// tables and the results table to the target's tracking database; a secondary (the target) serves
// the double check over HTTP for SRE tooling (admin credential). The CLI runs the same functions.

/** The claims verification state of every claimable model of the cell whose main database is `main`. */
export async function claimsModelStates(main: Sql): Promise<ClaimsModelState[]> {
  const flags = verificationFlags(cellClaimables);
  return Promise.all(
    cellClaimables.map(async (model, i) => {
      const [pass] = await listPasses(main, { model: model.name, limit: 1 });
      return {
        model: model.name,
        enabled: await isFlagEnabled(main, flags[i]!),
        ...(pass ? { lastPass: { finishedAt: pass.finishedAt, conflicts: pass.counts.conflicts, rows: pass.rows } } : {}),
      };
    }),
  );
}

const MAX_SINCE_HOURS = 24 * 365;

/** Body: { type: "<replicable>" | "all", since_hours?: number, organization_id?: string, dry_run?: boolean } */
function doubleCheckRouter(replicators: readonly ReplicatorDefinition[], main: Sql, tracking: Sql) {
  const router = express.Router();
  router.post('/', express.json({ limit: '16kb' }), async (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const bad = (message: string) => res.status(400).json({ error: 'invalid_argument', message });
    const type = body.type;
    if (typeof type !== 'string' || type.length === 0) return bad('type is required: a replicable name or "all"');
    const types = type === 'all' ? replicators : replicators.filter((r) => r.name === type);
    if (types.length === 0) return res.status(404).json({ error: 'not_found', message: `unknown replicable "${type}" (known: ${replicators.map((r) => r.name).join(', ')})` });
    const since = body.since_hours;
    if (since !== undefined && (typeof since !== 'number' || !Number.isFinite(since) || since <= 0 || since > MAX_SINCE_HOURS)) {
      return bad(`since_hours must be a number of hours in (0, ${MAX_SINCE_HOURS}]`);
    }
    const org = body.organization_id;
    if (org !== undefined && (typeof org !== 'string' || !/^[1-9]\d{0,18}$/.test(org))) return bad('organization_id must be a positive integer id, as a string');
    const dryRun = body.dry_run;
    if (dryRun !== undefined && typeof dryRun !== 'boolean') return bad('dry_run must be a boolean');
    try {
      const results = await runDoubleCheck({
        main,
        tracking,
        replicators: types,
        sinceHours: since as number | undefined,
        organizationId: org === undefined ? undefined : BigInt(org as string),
        dryRun: dryRun === true,
      });
      res.json(doubleCheckJson(results));
    } catch (error) {
      if (error instanceof NoCompletedLapError || error instanceof OrganizationScopeError) return res.status(422).json({ error: 'failed_precondition', message: error.message });
      next(error);
    }
  });
  return router;
}

export function createOrgMoveModule(replicators: readonly ReplicatorDefinition[]) {
  return defineFeatureModule<undefined>({
    name: 'org_move',
    migrations: { main: orgMoveMainMigrations(replicators), geo_tracking: orgMoveTrackingMigrations(replicators) },
    routes(_context, base) {
      if (!base.trackingSql) return [];
      return [{ path: '/api/v1/geo/double-check', access: ['admin'], router: doubleCheckRouter(replicators, base.mainSql, base.trackingSql) }];
    },
  });
}
