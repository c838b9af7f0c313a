import { cellClaimables } from '@meridian/cell-models';
import { claimsCatalog, claimsFlags, claimsMainMigrations, claimsProcessors, claimsSchedules, createClaims, DRIFT_KINDS, topologyMigrations, type Claims } from '@meridian/claims';
import { claimsConfigSection, type Config } from '@meridian/config';
import type { Sql } from '@meridian/db';
import type { Logger } from '@meridian/logger';
import type { QueueSet } from '@meridian/queue';
import { createTopologyClient } from '@meridian/topology-client';
import { Counter, Gauge } from 'prom-client';
import { defineFeatureModule } from '../feature-module';

// Cells claims as a feature module. A primary with TOPOLOGY_CELL_CREDENTIAL gets a Topology
// Service client for CELL_ID; without it (or on a secondary, which never writes the main
// database) claims are off and no call is ever made. The flag cells_unique_claims switches
// claiming at run time.

/**
 * The claims context of a cell from its configuration: a Topology Service client for CELL_ID on a
 * primary with TOPOLOGY_CELL_CREDENTIAL, else claims off. The module and the CLI both build it here.
 */
export function openClaims(config: Config, sql: Sql, logger: Logger, queues?: QueueSet): Claims {
  const credential = config.TOPOLOGY_CELL_CREDENTIAL;
  const client =
    credential && config.SITE_ROLE === 'primary'
      ? createTopologyClient({
          baseUrl: config.TOPOLOGY_SERVICE_URL,
          credential,
          cellId: config.CELL_ID,
          protocol: config.TOPOLOGY_PROTOCOL,
          maxConcurrent: config.TOPOLOGY_MAX_CONCURRENT,
          breaker: { failureThreshold: config.TOPOLOGY_BREAKER_THRESHOLD, openMs: config.TOPOLOGY_BREAKER_OPEN_MS },
          policies: { transaction: { timeoutMs: config.TOPOLOGY_TRANSACTION_TIMEOUT_MS, attempts: config.TOPOLOGY_TRANSACTION_ATTEMPTS } },
        })
      : undefined;
  return createClaims({ sql, client, models: cellClaimables, logger, queues, flagCacheMs: config.CLAIMS_FLAG_CACHE_MS });
}

export const claimsModule = defineFeatureModule<Claims>({
  name: 'claims',
  configSection: claimsConfigSection,
  migrations: { main: claimsMainMigrations, topology: topologyMigrations },
  catalog: claimsCatalog,
  schedules: (config) => claimsSchedules({ cron: config.CLAIMS_VERIFICATION_CRON }),
  flags: () => claimsFlags(cellClaimables),
  createContext: (base) => openClaims(base.config, base.mainSql, base.logger, base.queues),
  processors: (claims, base) =>
    claimsProcessors(claims, {
      windowMs: base.config.CLAIMS_VERIFICATION_WINDOW_MS,
      budgetMs: base.config.CLAIMS_VERIFICATION_BUDGET_MS,
    }),
  metrics(registry, claims, base) {
    if (!claims.client) return;
    // verification runs in worker processes; what they found is in the database (recorded passes
    // plus the pass in progress), so any process serving /metrics reports it
    new Counter({
      name: 'meridian_claims_verification_drift_total',
      help: 'drift found by claims verification (recorded passes and the pass in progress), by model and kind',
      labelNames: ['model', 'kind'],
      registers: [registry],
      async collect() {
        const rows = await base.mainSql<{ model: string; kind: string; n: number }[]>`
          select c.model, d.key as kind, sum(d.value::bigint)::float8 as n
          from (select model, counts from cells_claims_verification_passes
                union all select model, counts from cells_claims_verification_cursors) c,
               jsonb_each_text(c.counts -> 'drift') d
          group by c.model, d.key`;
        this.reset();
        for (const model of claims.models) for (const kind of DRIFT_KINDS) this.inc({ model: model.name, kind }, 0);
        for (const row of rows) this.inc({ model: row.model, kind: row.kind }, row.n);
      },
    });
    const client = claims.client;
    new Gauge({
      name: 'meridian_claims_outstanding_leases',
      help: 'leases this cell committed locally and has not finished in the Topology Service yet',
      registers: [registry],
      async collect() {
        const [row] = await base.mainSql<{ n: number }[]>`select count(*)::int as n from cells_outstanding_leases`;
        this.set(row?.n ?? 0);
      },
    });
    new Gauge({
      name: 'meridian_topology_client_in_flight',
      help: 'Topology Service calls in flight from this process',
      registers: [registry],
      collect() {
        this.set(client.stats().inFlight);
      },
    });
  },
});
