import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { loadConfig } from '@meridian/config';
import { migrationTemplate } from '@meridian/db';
import { createLogger } from '@meridian/logger';
import { RegistryAdminService } from '@meridian/proto';
import { openSiteResources, siteMigrationSet, type SiteResources } from '@meridian/runtime';
import { closeServer, createTestDatabase, createTestPrefix, deleteKeysWithPrefix, listenLocal, testRedisUrl, type TestDatabase } from '@meridian/testing';
import { createSiteApi } from '../src';

export const ADMIN = 'admin-token-for-geo-admin-01';
export const VIEWER = 'viewer-token-for-geo-admin-1';
export const basic = (user: string, token: string) => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;

export interface AdminSite {
  site: SiteResources;
  base: string;
  close(): Promise<void>;
}

/** A site (secondary or primary) over real PostgreSQL and Redis with its site API on a random port. */
export async function startAdminSite(role: 'primary' | 'secondary', stores: { main: TestDatabase; tracking: TestDatabase; prefix: string; storageRoot: string }): Promise<AdminSite> {
  const config = loadConfig({
    SITE_ROLE: role,
    SITE_NAME: role,
    DATABASE_URL: stores.main.url,
    GEO_TRACKING_DATABASE_URL: stores.tracking.url,
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: `${stores.prefix}-${role[0]}`,
    STORAGE_ROOT: stores.storageRoot,
  });
  const logger = createLogger({ name: 'geo-admin-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const site = await openSiteResources(config, logger, { redisRole: 'producer', poolSize: 3 });
  const app = createSiteApi({ site, adminToken: ADMIN, viewerToken: VIEWER });
  const { server, base } = await listenLocal(app);
  return {
    site,
    base,
    async close() {
      await closeServer(server);
      await site.close();
    },
  };
}

/** A client generated from the proto, over real HTTP, sending `authorization` when given. */
export function adminClient(base: string, authorization?: string, protocol: 'connect' | 'grpc-web' = 'connect'): Client<typeof RegistryAdminService> {
  const auth: Interceptor = (next) => (req) => {
    if (authorization) req.header.set('authorization', authorization);
    return next(req);
  };
  const options = { baseUrl: base, httpVersion: '1.1' as const, interceptors: [auth] };
  return createClient(RegistryAdminService, protocol === 'connect' ? createConnectTransport(options) : createGrpcWebTransport(options));
}

export interface AdminStores {
  main: TestDatabase;
  tracking: TestDatabase;
  prefix: string;
  storageRoot: string;
  cleanup(): Promise<void>;
}

export async function createAdminStores(): Promise<AdminStores> {
  const main = await createTestDatabase('mgadm', { template: migrationTemplate(siteMigrationSet('main')) });
  const tracking = await createTestDatabase('mgadmt', { template: migrationTemplate(siteMigrationSet('geo_tracking')) });
  const { prefix, cleanup } = createTestPrefix('mgadm');
  const storageRoot = mkdtempSync(path.join(tmpdir(), 'meridian-geo-admin-'));
  return {
    main,
    tracking,
    prefix,
    storageRoot,
    async cleanup() {
      // both roles' queue prefixes live under `prefix-`
      await Promise.all([deleteKeysWithPrefix(`${prefix}-p`), deleteKeysWithPrefix(`${prefix}-s`), cleanup()]);
      await Promise.all([main.drop(), tracking.drop()]);
      rmSync(storageRoot, { recursive: true, force: true });
    },
  };
}
