// Tables every site database has, whichever role writes it.

/** When a site's scheduler and workers last proved alive (the `site.heartbeat` job). */
export const SITE_HEARTBEATS_SQL = `
      create table site_heartbeats (
        site_name text primary key,
        role text not null check (role in ('primary', 'secondary')),
        beat_at timestamptz not null
      );`;
