import express from 'express';
import { z } from 'zod';
import type { PrimaryGeoContext } from './geo-context';
import { SITE_STATUS_PATH, SITE_STATUS_SUBJECT } from './jobs/status-report';
import { modelStore } from './registry/model-store';
import { jsonBody } from './transfer/json-body';
import { bearerToken } from './transfer/retrieve-router';
import { createRetrieveBatchRouter, createRetrieveRouter, TransferAuthError, verifyTransferToken } from './transfer';

const statusBody = z.object({ cursorEventId: z.string().regex(/^\d{1,19}$/) }).strict();
const siteName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);

/**
 * The primary's geo HTTP surface: the transfer endpoints (`GET /api/v1/geo/retrieve/…` for one
 * blob, `POST /api/v1/geo/retrieve-batch/…` for a sync job's batch) and the
 * secondaries' status reports (`POST /api/v1/geo/sites/:site/status`), both authenticated by
 * short-lived HS256 tokens signed with GEO_SHARED_SECRET.
 */
export function createGeoPrimaryRouter(context: PrimaryGeoContext & { secret: string }): express.Router {
  const router = express.Router();
  const byName = new Map(context.replicators.map((r) => [r.name, r]));
  router.use(
    createRetrieveRouter({
      secret: context.secret,
      storage: context.storage,
      logger: context.logger,
      knownReplicables: () => [...byName.keys()],
      lookup: async (replicable, id) => {
        const definition = byName.get(replicable);
        const model = definition ? await modelStore(definition).lookup(context.mainSql, id) : undefined;
        return model ? { blobPath: model.blobPath, checksum: model.checksum } : undefined;
      },
    }),
  );
  router.use(
    createRetrieveBatchRouter({
      secret: context.secret,
      storage: context.storage,
      logger: context.logger,
      knownReplicables: () => [...byName.keys()],
      lookupMany: async (replicable, ids) => {
        const definition = byName.get(replicable);
        const rows = definition ? await modelStore(definition).lookupMany(context.mainSql, ids) : [];
        return new Map(rows.map((m) => [m.id, { blobPath: m.blobPath, checksum: m.checksum }]));
      },
    }),
  );
  router.post(SITE_STATUS_PATH, jsonBody({ limit: '4kb', logger: context.logger, route: SITE_STATUS_PATH }), async (req, res) => {
    try {
      await verifyTransferToken(bearerToken(req.headers.authorization), { secret: context.secret, ...SITE_STATUS_SUBJECT });
    } catch (error) {
      if (error instanceof TransferAuthError) {
        res.status(401).json({ code: 'unauthorized', reason: error.reason });
        return;
      }
      throw error;
    }
    const site = siteName.safeParse(req.params.site);
    const body = statusBody.safeParse(req.body);
    if (!site.success || !body.success) {
      res.status(400).json({ code: 'bad_request', message: 'expected a site slug and {"cursorEventId": "<digits>"}' });
      return;
    }
    await context.mainSql`
      insert into geo_secondary_sites (site_name, cursor_event_id, reported_at)
      values (${site.data}, ${body.data.cursorEventId}, now())
      on conflict (site_name) do update set cursor_event_id = excluded.cursor_event_id, reported_at = excluded.reported_at`;
    res.status(204).end();
  });
  return router;
}
