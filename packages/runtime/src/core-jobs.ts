import { z } from 'zod';
import { defineJob, defineSchedule, registerProcessor, type ProcessorRegistration } from '@meridian/queue';
import type { SiteBase } from './feature-module';

/**
 * Every site's liveness beat: proves the scheduler schedules and a worker consumes, and gives
 * `meridian status` a "last seen" per site without touching Redis.
 */
export const heartbeatJob = defineJob({
  queue: 'site.heartbeat',
  description: 'records that this site schedules and processes jobs',
  payload: z.object({}).strict(),
  roles: ['primary', 'secondary'],
  options: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
});

export const coreCatalog = [heartbeatJob];

export const coreSchedules = [defineSchedule({ id: 'site-heartbeat', job: heartbeatJob, data: {}, every: 30_000 })];

export function coreProcessors(site: SiteBase): ProcessorRegistration[] {
  return [
    registerProcessor(heartbeatJob, async () => {
      const sql = site.siteSql;
      await sql`
        insert into site_heartbeats (site_name, role, beat_at) values (${site.config.SITE_NAME}, ${site.config.SITE_ROLE}, now())
        on conflict (site_name) do update set role = excluded.role, beat_at = excluded.beat_at`;
      return { site: site.config.SITE_NAME };
    }),
  ];
}
