// What the geo benches share (verification, status): a blob type of their own, its files and rows, and a
// primary context for runVerification (which never enqueues, so no queues).
import { randomBytes } from 'node:crypto';
import { migrate, migrationSet, type Sql } from '@meridian/db';
import { createSilentLogger } from '@meridian/logger';
import type { QueueSet } from '@meridian/queue';
import type { BlobStorage } from '@meridian/storage';
import { DEFAULT_GEO_SETTINGS, defineReplicator, geoMainMigrations, type GeoSettings, type PrimaryGeoContext } from '../src';

export const benchBlobs = defineReplicator({
  name: 'bench_blob',
  plural: 'bench_blobs',
  titles: { singular: 'Bench Blob', plural: 'Bench Blobs' },
  table: 'bench_blobs',
  blobPathColumn: 'file_path',
  mutable: false,
});

/** The bench type's model table (main database), before the geo steps. */
export const benchBlobsTable = { name: 'bench/0001_blobs', sql: 'create table bench_blobs (id bigserial primary key, file_path text not null)' };

/** Migrates the bench schema and writes `count` distinct blobs of `bytes`; returns their paths. */
export async function createBenchBlobs(sql: Sql, storage: BlobStorage, count: number, bytes: number): Promise<string[]> {
  await migrate(sql, migrationSet('main', [[benchBlobsTable], geoMainMigrations([benchBlobs])]));
  const content = randomBytes(bytes);
  const paths: string[] = [];
  for (let i = 1; i <= count; i += 1) {
    content.writeUInt32BE(i, 0);
    paths.push(`blobs/${i}.bin`);
    await storage.write(`blobs/${i}.bin`, content);
  }
  await sql`insert into bench_blobs (file_path) select unnest(${paths}::text[])`;
  return paths;
}

export function benchPrimaryContext(sql: Sql, storage: BlobStorage, settings: Partial<GeoSettings> = {}): PrimaryGeoContext {
  return {
    role: 'primary',
    siteName: 'bench',
    replicators: [benchBlobs],
    mainSql: sql,
    trackingSql: undefined,
    storage,
    queues: undefined as unknown as QueueSet, // verification never enqueues
    logger: createSilentLogger(),
    secret: undefined,
    primaryUrl: 'http://127.0.0.1:1',
    settings: { ...DEFAULT_GEO_SETTINGS, runBudgetMs: 3_600_000, ...settings },
  };
}
