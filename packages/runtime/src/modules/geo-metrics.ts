import { collectGeoStatus, SECONDARY_REPORT_FIELDS, siteFieldsFor, typeFieldsFor, type GeoStatusSnapshot, type StatusOptions, type StatusSite } from '@meridian/geo';
import { Gauge, type Registry } from 'prom-client';

// Geo gauges, one per declared status field (packages/geo/src/status-fields.ts) that has a metric
// name: `geo_<plural>`, `geo_<plural>_synced`, … with label `url` = this site's name (upstream's
// label); on a primary, each secondary's last report with `url` = that secondary's name. Every
// figure comes from counter tables, read once per scrape; a source that fails or times out
// leaves only its own gauges without samples and sets geo_status_source_up{source} to 0.

export function registerGeoMetrics(registry: Registry, geo: StatusSite, options: StatusOptions = {}): void {
  const url = geo.siteName;
  // All gauges of one scrape share one collection: prom-client runs every collect() at once.
  let inflight: Promise<GeoStatusSnapshot> | undefined;
  const snapshot = () => {
    inflight ??= collectGeoStatus(geo, { ...options, failuresPerType: 0 }).finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: GeoStatusSnapshot) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        try {
          fill(this, await snapshot());
        } catch {
          // geo_status_scrape_ok reports it; this gauge shows no sample
        }
      },
    });

  for (const field of typeFieldsFor(geo.role)) {
    if (field.metric === null) continue;
    for (const r of geo.replicators) {
      gauge(`geo_${r.plural}${field.metric}`, `${r.titles.plural}: ${field.help}`, ['url'], (g, s) => {
        const value = s.types.find((t) => t.name === r.name)?.values[field.suffix];
        if (typeof value === 'number') g.set({ url }, value);
      });
    }
  }
  for (const field of siteFieldsFor(geo.role)) {
    if (field.metric === null) continue;
    gauge(field.metric, field.help, ['url'], (g, s) => {
      const value = s.site_fields[field.name];
      if (typeof value === 'number') g.set({ url }, value);
    });
  }
  if (geo.role === 'primary') {
    for (const field of SECONDARY_REPORT_FIELDS) {
      gauge(field.metric, field.help, ['url'], (g, s) => {
        for (const secondary of s.secondaries) {
          const value = secondary.fields[field.name];
          if (typeof value === 'number') g.set({ url: secondary.site }, value);
        }
      });
    }
  }
  gauge('geo_status_source_up', '1 when the status source answered within its timeout at the last scrape, else 0', ['source'], (g, s) => {
    for (const source of s.sources) g.set({ source: source.name }, source.ok ? 1 : 0);
  });
  new Gauge({
    name: 'geo_status_scrape_ok',
    help: '1 when every geo status source answered at the last scrape, 0 when any failed',
    registers: [registry],
    async collect() {
      try {
        const s = await snapshot();
        this.set(s.sources.every((source) => source.ok) ? 1 : 0);
      } catch {
        this.set(0);
      }
    },
  });
}
