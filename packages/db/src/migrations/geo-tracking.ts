import type { Migration } from '../migration';
import { SITE_HEARTBEATS_SQL } from './shared';

// Core steps of a secondary site's tracking database. Registries come from the geo package.
export const geoTrackingMigrations: Migration[] = [
  {
    name: '0001_site_heartbeats',
    sql: SITE_HEARTBEATS_SQL,
  },
];
