import { cursorStatus, typeStatuses, type GeoContext } from '@meridian/geo';
import { Gauge, type Registry } from 'prom-client';

/**
 * Geo gauges with upstream names: `geo_<plural>` (+ `_registry`, `_synced`, `_failed`, and
 * Meridian's `_pending`, `_started`), label `url` = site name; on a secondary also the cursor,
 * open gaps and dropped gaps. Read from counter tables at scrape time (no COUNT over big tables).
 */
export function registerGeoMetrics(registry: Registry, geo: GeoContext): void {
  const url = geo.siteName;
  const gauges = new Map<string, Gauge>();
  const gauge = (name: string, help: string): Gauge => {
    let g = gauges.get(name);
    if (!g) {
      g = new Gauge({ name, help, labelNames: ['url'], registers: [registry] });
      gauges.set(name, g);
    }
    return g;
  };
  const figures = [
    ['', 'count', 'on the primary'],
    ['_registry', 'registryCount', 'in the registry'],
    ['_pending', 'pending', 'pending sync'],
    ['_started', 'started', 'being synced'],
    ['_synced', 'synced', 'synced'],
    ['_failed', 'failed', 'failed to sync (retrying)'],
  ] as const;
  for (const replicator of geo.replicators) {
    for (const [suffix, , help] of figures) gauge(`geo_${replicator.plural}${suffix}`, `${replicator.titles.plural} ${help}`);
  }
  const cursor = gauge('geo_cursor_last_event_id', 'last geo event id this secondary processed');
  const primaryMax = gauge('geo_event_log_max_id', 'newest geo event id on the primary');
  const gaps = gauge('geo_event_gaps', 'event ids skipped and not yet seen (open gaps)');
  const dropped = gauge('geo_event_gaps_dropped', 'event gaps given up on after the timeout (total)');
  const unknownEvents = gauge('geo_events_unknown', 'geo events with a name this version does not know (total; logged as errors)');
  // One collector refreshes every geo gauge per scrape.
  const refresh = new Gauge({
    name: 'geo_status_scrape_ok',
    help: '1 when the last scrape read geo status, 0 when it failed',
    registers: [registry],
    async collect() {
      try {
        const statuses = await typeStatuses(geo.replicators, geo.mainSql, geo.trackingSql);
        for (const status of statuses) {
          for (const [suffix, key] of figures) gauges.get(`geo_${status.plural}${suffix}`)?.set({ url }, status[key]);
        }
        const c = await cursorStatus(geo);
        if (c) {
          cursor.set({ url }, Number(c.lastEventId));
          primaryMax.set({ url }, Number(c.primaryMaxEventId));
          gaps.set({ url }, c.openGaps);
          dropped.set({ url }, Number(c.gapsDropped));
          unknownEvents.set({ url }, Number(c.unknownEvents));
        }
        this.set(1);
      } catch {
        this.set(0);
      }
    },
  });
  void refresh;
}
