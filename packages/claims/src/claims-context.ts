import type { FlagDefinition, Sql } from '@meridian/db';
import type { Logger } from '@meridian/logger';
import type { QueueSet } from '@meridian/queue';
import type { TopologyClient } from '@meridian/topology-client';
import type { Claimable, ClaimedAttribute } from './claimable';
import { verificationFlags } from './verification/verification-run';

/** The global switch (upstream `cells_unique_claims`): off means no Topology Service call at all. */
export const uniqueClaimsFlag: FlagDefinition = {
  name: 'cells_unique_claims',
  description: 'claim unique values (usernames, emails, routes, …) in the Topology Service inside the writing transaction',
  defaultEnabled: false,
};

export interface ClaimsOptions {
  /** the cell's main database pool: flags, and lease rows after COMMIT */
  sql: Sql;
  /** this cell's client; undefined (no TOPOLOGY_CELL_CREDENTIAL) means claims are off */
  client: TopologyClient | undefined;
  models: readonly Claimable[];
  logger: Logger;
  /** where bulk-claims jobs go; bulk writes refuse to run without it while claims are on */
  queues?: QueueSet | undefined;
  /** how long a flag read is reused (default 1 s; 0 reads on every transaction) */
  flagCacheMs?: number;
}

/** Which attributes claim right now; undefined from `state()` means claims are off. */
export interface ClaimsState {
  attributeEnabled(attribute: ClaimedAttribute): boolean;
}

export interface Claims {
  readonly sql: Sql;
  readonly client: TopologyClient | undefined;
  readonly models: readonly Claimable[];
  readonly logger: Logger;
  readonly queues: QueueSet | undefined;
  modelNamed(name: string): Claimable | undefined;
  /** every flag the claims feature declares: the global one and each rollout flag */
  flags(): FlagDefinition[];
  state(): Promise<ClaimsState | undefined>;
}

export function claimsFlags(models: readonly Claimable[]): FlagDefinition[] {
  const names = new Set<string>();
  for (const model of models) for (const attribute of Object.values(model.attributes)) if (attribute.flag) names.add(attribute.flag);
  return [
    uniqueClaimsFlag,
    ...[...names].sort().map((name) => ({ name, description: `roll out claims of the attributes flagged ${name}`, defaultEnabled: false })),
    ...verificationFlags(models),
  ];
}

export function createClaims(options: ClaimsOptions): Claims {
  const flags = claimsFlags(options.models);
  const names = flags.map((f) => f.name);
  const cacheMs = options.flagCacheMs ?? 1_000;
  let cached: { at: number; value: Promise<ClaimsState | undefined> } | undefined;

  async function read(): Promise<ClaimsState | undefined> {
    const rows = await options.sql<{ name: string; enabled: boolean }[]>`select name, enabled from feature_flags where name = any(${names})`;
    const on = new Set(flags.filter((f) => rows.find((r) => r.name === f.name)?.enabled ?? f.defaultEnabled).map((f) => f.name));
    if (!on.has(uniqueClaimsFlag.name)) return undefined;
    return { attributeEnabled: (attribute) => attribute.flag === undefined || on.has(attribute.flag) };
  }

  return {
    sql: options.sql,
    client: options.client,
    models: options.models,
    logger: options.logger,
    queues: options.queues,
    modelNamed: (name) => options.models.find((m) => m.name === name),
    flags: () => flags,
    state() {
      if (!options.client) return Promise.resolve(undefined);
      const now = Date.now();
      if (!cached || now - cached.at >= cacheMs) {
        const value = read();
        cached = { at: now, value };
        value.catch(() => (cached = undefined));
      }
      return cached.value;
    },
  };
}
