import type { Migration } from '../migration';

// Core steps of a secondary site's tracking database. Registries come from the geo package.
export const geoTrackingMigrations: Migration[] = [
  {
    name: '0001_site_heartbeats',
    sql: `
      create table site_heartbeats (
        site_name text primary key,
        role text not null check (role in ('primary', 'secondary')),
        beat_at timestamptz not null
      );`,
  },
];
