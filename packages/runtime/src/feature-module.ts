import type { Config } from '@meridian/config';
import type { DatabaseKind, FlagDefinition, Migration, Sql } from '@meridian/db';
import type { Logger } from '@meridian/logger';
import type { JobDefinition, ProcessorRegistration, QueueSet, ScheduleDefinition } from '@meridian/queue';
import type { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { BlobStorage } from '@meridian/storage';
import type { z } from 'zod';

/** What every site process opens before any feature builds its context. */
export interface SiteBase {
  config: Config;
  logger: Logger;
  mainSql: Sql;
  trackingSql: Sql | undefined;
  /** the database this site writes its own state to: main on a primary, tracking on a secondary */
  siteSql: Sql;
  redis: Redis;
  queues: QueueSet;
  /** blob storage under STORAGE_ROOT (geo replicates it; cell writers store blobs in it) */
  storage: BlobStorage;
}

export interface SiteRoute {
  path: string;
  router: Router;
  /** credentials the site API requires before the router (roles of site-api's auth); unset = public */
  access?: ReadonlyArray<'admin' | 'viewer'>;
}

/**
 * One feature (geo, claims, …) as the composition root sees it. Everything a feature adds to a
 * site comes through here, so adding a feature is a new module and one line in site-modules.ts.
 * `C` is the feature's own run-time context, built from its own configuration section.
 */
export interface FeatureModule<C = unknown> {
  readonly name: string;
  /** the variables this feature reads (a section of the site's configuration schema) */
  readonly configSection?: z.ZodObject;
  /** versioned migration steps per database kind, under the feature's namespace */
  readonly migrations?: Partial<Record<DatabaseKind, readonly Migration[]>>;
  /** the feature's job types (every role; the worker filters by `roles`) */
  catalog?(config?: Config): readonly JobDefinition[];
  schedules?(config: Config): readonly ScheduleDefinition[];
  flags?(): readonly FlagDefinition[];
  /** builds the context processors, routes and metrics use; `overrides` come from tests/benches */
  createContext?(base: SiteBase, overrides: unknown): C | Promise<C>;
  processors?(context: C, base: SiteBase): readonly ProcessorRegistration[];
  routes?(context: C, base: SiteBase): readonly SiteRoute[];
  metrics?(registry: Registry, context: C, base: SiteBase): void;
  close?(context: C): Promise<void>;
}

/** Type-checks a module definition (identity at run time). */
export function defineFeatureModule<C>(module: FeatureModule<C>): FeatureModule<C> {
  return module;
}
