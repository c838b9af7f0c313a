import type { Migration } from '../migration';
import { SITE_HEARTBEATS_SQL } from './shared';

// Core steps of a cell's main database. Feature packages (geo, claims) contribute their own.
export const mainMigrations: Migration[] = [
  {
    name: '0001_feature_flags',
    sql: `
      create table feature_flags (
        name text primary key check (name ~ '^[a-z0-9_]{1,200}$'),
        enabled boolean not null,
        updated_at timestamptz not null default now()
      );`,
  },
  {
    name: '0002_site_heartbeats',
    sql: SITE_HEARTBEATS_SQL,
  },
];
