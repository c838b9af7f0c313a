import type { GeoStatusSnapshot, TypeSnapshot } from '@meridian/geo';

// The status page at /admin/geo: rendered on the server from one status snapshot, then kept fresh
// by a small script that fetches the JSON API and writes each figure into the element that names
// its field (data-field), the bars' widths (data-bar) and the lists it rebuilds with DOM calls
// (textContent only). Every server-side string goes through escapeHtml.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (value: unknown): string => String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);

const show = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : String(value));
const pct = (value: number | null | undefined): number => (typeof value === 'number' ? Math.max(0, Math.min(100, value)) : 0);

/** Unix seconds shown as an ISO time (the JSON keeps the number). */
const showTime = (value: number | null | undefined): string => (typeof value === 'number' ? new Date(value * 1000).toISOString() : show(value));

function figure(label: string, field: string, value: number | null | undefined, format?: 'time'): string {
  return `<div class="figure"><span class="label">${escapeHtml(label)}</span><span class="value" data-field="${escapeHtml(field)}"${format ? ` data-format="${format}"` : ''}>${escapeHtml(format === 'time' ? showTime(value) : show(value))}</span></div>`;
}

function bar(label: string, field: string, value: number | null | undefined): string {
  const off = value === null || value === undefined;
  return `<div class="bar-row"><span class="label">${escapeHtml(label)}</span>
    <div class="bar${off ? ' off' : ''}" data-bar="${escapeHtml(field)}"><div class="fill" style="width:${pct(value)}%"></div></div>
    <span class="value" data-field="${escapeHtml(field)}" data-suffix=" %">${escapeHtml(off ? 'off' : `${value} %`)}</span></div>`;
}

const checksummedPercentage = (t: TypeSnapshot): number | null => {
  const total = t.values._checksum_total_count;
  const done = t.values._checksummed_count;
  if (typeof total !== 'number' || typeof done !== 'number') return null;
  return total === 0 ? 0 : Math.floor((done / total) * 10_000) / 100;
};

function failures(t: TypeSnapshot): string {
  const rows = t.failures
    .map((f) => `<tr><td>${escapeHtml(f.kind)}</td><td>${escapeHtml(f.modelId)}</td><td>${escapeHtml(f.retryCount)}</td><td>${escapeHtml(f.retryAt ?? '')}</td><td class="message">${escapeHtml(f.message ?? '')}</td></tr>`)
    .join('');
  return `<table class="failures" data-failures="${escapeHtml(t.name)}"><thead><tr><th>kind</th><th>model id</th><th>retries</th><th>next retry</th><th>last message</th></tr></thead><tbody>${rows || '<tr class="none"><td colspan="5">no failures</td></tr>'}</tbody></table>`;
}

function typeCard(snapshot: GeoStatusSnapshot, t: TypeSnapshot): string {
  const f = (suffix: string) => `${t.plural}${suffix}`;
  const v = t.values;
  const body =
    snapshot.role === 'secondary'
      ? `${bar('synced', f('_synced_in_percentage'), v._synced_in_percentage)}
         ${bar('verified', f('_verified_in_percentage'), v._verified_in_percentage)}
         <div class="figures">
           ${figure('on primary', f('_count'), v._count)}${figure('registry', f('_registry_count'), v._registry_count)}
           ${figure('pending', f('_pending_count'), v._pending_count)}${figure('in flight', f('_started_count'), v._started_count)}
           ${figure('synced', f('_synced_count'), v._synced_count)}${figure('failed', f('_failed_count'), v._failed_count)}
           ${figure('verified', f('_verified_count'), v._verified_count)}${figure('verification failed', f('_verification_failed_count'), v._verification_failed_count)}
           ${figure('oldest pending (s)', f('_pending_oldest_age_seconds'), v._pending_oldest_age_seconds)}
           ${figure('last consistency lap', f('_consistency_lap_completed_at'), v._consistency_lap_completed_at, 'time')}
         </div>`
      : `${bar('checksummed', `${t.plural}_checksummed_in_percentage`, checksummedPercentage(t))}
         <div class="figures">
           ${figure('rows', f('_count'), v._count)}${figure('to checksum', f('_checksum_total_count'), v._checksum_total_count)}
           ${figure('checksummed', f('_checksummed_count'), v._checksummed_count)}${figure('checksum failed', f('_checksum_failed_count'), v._checksum_failed_count)}
           ${figure('events in outbox', f('_events_count'), v._events_count)}
         </div>`;
  return `<section class="type" data-type="${escapeHtml(t.name)}">
    <h2>${escapeHtml(t.title)} <a class="registry-link" href="${escapeHtml(t.registryListPath)}">registry list</a></h2>
    ${body}
    <h3>failures</h3>${failures(t)}
  </section>`;
}

function siteSection(snapshot: GeoStatusSnapshot): string {
  if (snapshot.role === 'secondary') {
    const s = snapshot.site_fields;
    return `<section class="site"><h2>Event cursor</h2><div class="figures">
      ${figure('cursor', 'cursor_last_event_id', s.cursor_last_event_id)}${figure('newest event', 'event_log_max_id', s.event_log_max_id)}
      ${figure('lag (events)', 'cursor_lag_events', s.cursor_lag_events)}${figure('lag (s)', 'cursor_lag_seconds', s.cursor_lag_seconds)}
      ${figure('open gaps', 'event_gaps_open', s.event_gaps_open)}${figure('dropped gaps', 'event_gaps_dropped', s.event_gaps_dropped)}
    </div></section>`;
  }
  const rows = snapshot.secondaries
    .map((s) => `<tr data-secondary="${escapeHtml(s.site)}"><td>${escapeHtml(s.site)}</td><td>${escapeHtml(s.fields.healthy === 1 ? 'Healthy' : 'Unhealthy')}</td><td>${escapeHtml(show(s.fields.cursor_event_id))}</td><td>${escapeHtml(show(s.fields.events_behind))}</td><td>${escapeHtml(show(s.fields.report_age_seconds))}</td></tr>`)
    .join('');
  return `<section class="site"><h2>Sites</h2><div class="figures">${figure('newest event', 'event_log_max_id', snapshot.site_fields.event_log_max_id)}</div>
    <table class="secondaries"><thead><tr><th>secondary</th><th>health</th><th>cursor</th><th>events behind</th><th>last report (s ago)</th></tr></thead>
    <tbody>${rows || '<tr class="none"><td colspan="5">no secondary has reported yet</td></tr>'}</tbody></table></section>`;
}

function sourceErrors(snapshot: GeoStatusSnapshot): string {
  const failed = snapshot.sources.filter((s) => !s.ok);
  return failed.map((s) => `<li>${escapeHtml(s.name)}: ${escapeHtml(s.error ?? 'failed')}</li>`).join('');
}

const STYLE = `
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1f2328; }
  header { background: #24292f; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: baseline; }
  header a { color: #9cdcfe; } main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); }
  section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 12px 16px; }
  h2 { font-size: 16px; margin: 0 0 8px; } h3 { font-size: 13px; margin: 12px 0 4px; color: #57606a; }
  .registry-link { font-size: 12px; font-weight: normal; margin-left: 8px; }
  .bar-row { display: grid; grid-template-columns: 90px 1fr 70px; gap: 8px; align-items: center; margin: 4px 0; }
  .bar { height: 12px; background: #eaeef2; border-radius: 6px; overflow: hidden; } .bar .fill { height: 100%; background: #2da44e; }
  .bar.off .fill { background: #afb8c1; }
  .figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6px 12px; margin-top: 8px; }
  .figure { display: flex; flex-direction: column; } .figure .label, .bar-row .label { color: #57606a; font-size: 12px; }
  .figure .value { font-variant-numeric: tabular-nums; font-weight: 600; }
  table { width: 100%; border-collapse: collapse; font-size: 12px; } th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid #eaeef2; }
  td.message { color: #cf222e; } #errors { color: #cf222e; margin: 0 20px; } #updated { font-size: 12px; color: #d0d7de; }`;

/** The inline script: fetch the JSON every `refreshMs`, then update figures, bars and lists in place. */
function script(refreshMs: number): string {
  return `(() => {
  const show = (v) => (v === null || v === undefined ? '\\u2013' : String(v));
  const cell = (tr, text) => { const td = document.createElement('td'); td.textContent = text; tr.appendChild(td); return td; };
  const empty = (tbody, text) => { const tr = document.createElement('tr'); tr.className = 'none'; const td = cell(tr, text); td.colSpan = 5; tbody.replaceChildren(tr); };
  function render(s) {
    const values = Object.assign({}, s.fields);
    for (const t of s.types) {
      const total = t.fields[t.plural + '_checksum_total_count'], done = t.fields[t.plural + '_checksummed_count'];
      values[t.plural + '_checksummed_in_percentage'] = typeof total === 'number' && typeof done === 'number' ? (total === 0 ? 0 : Math.floor((done / total) * 10000) / 100) : null;
    }
    for (const el of document.querySelectorAll('[data-field]')) {
      const v = values[el.dataset.field];
      if (el.dataset.format === 'time') el.textContent = typeof v === 'number' ? new Date(v * 1000).toISOString() : show(v);
      else el.textContent = el.dataset.suffix !== undefined ? (v === null || v === undefined ? 'off' : v + el.dataset.suffix) : show(v);
    }
    for (const el of document.querySelectorAll('[data-bar]')) {
      const v = values[el.dataset.bar];
      el.classList.toggle('off', typeof v !== 'number');
      el.firstElementChild.style.width = (typeof v === 'number' ? Math.max(0, Math.min(100, v)) : 0) + '%';
    }
    for (const t of s.types) {
      const tbody = document.querySelector('[data-failures="' + CSS.escape(t.name) + '"] tbody');
      if (!tbody) continue;
      if (t.failures.length === 0) { empty(tbody, 'no failures'); continue; }
      tbody.replaceChildren(...t.failures.map((f) => { const tr = document.createElement('tr'); for (const x of [f.kind, f.modelId, String(f.retryCount), f.retryAt || '']) cell(tr, x); cell(tr, f.message || '').className = 'message'; return tr; }));
    }
    const secondaries = document.querySelector('table.secondaries tbody');
    if (secondaries) {
      if (s.secondaries.length === 0) empty(secondaries, 'no secondary has reported yet');
      else secondaries.replaceChildren(...s.secondaries.map((x) => { const tr = document.createElement('tr'); tr.dataset.secondary = x.site; for (const v of [x.site, x.fields.healthy === 1 ? 'Healthy' : 'Unhealthy', show(x.fields.cursor_event_id), show(x.fields.events_behind), show(x.fields.report_age_seconds)]) cell(tr, v); return tr; }));
    }
    const errors = document.getElementById('errors');
    errors.replaceChildren(...s.sources.filter((x) => !x.ok).map((x) => { const li = document.createElement('li'); li.textContent = x.name + ': ' + (x.error || 'failed'); return li; }));
    const updated = document.getElementById('updated');
    updated.textContent = 'updated ' + s.collectedAt;
    updated.dataset.collectedAt = s.collectedAt;
  }
  async function refresh() {
    try {
      const response = await fetch('/api/v1/geo/status', { credentials: 'same-origin', headers: { accept: 'application/json' } });
      if (response.ok) render(await response.json());
    } catch (e) { /* keep the last figures; the next tick retries */ }
    setTimeout(refresh, ${refreshMs});
  }
  setTimeout(refresh, ${refreshMs});
})();`;
}

export function renderStatusPage(snapshot: GeoStatusSnapshot, refreshMs: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Geo status: ${escapeHtml(snapshot.site)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body><header><strong>Geo status</strong><span>site ${escapeHtml(snapshot.site)} (${escapeHtml(snapshot.role)})</span>
<a href="/admin/queues/">Bull Board</a><a href="/api/v1/geo/status">JSON</a>
<span id="updated" data-collected-at="${escapeHtml(snapshot.collectedAt)}">updated ${escapeHtml(snapshot.collectedAt)}</span></header>
<ul id="errors">${sourceErrors(snapshot)}</ul>
<main>${siteSection(snapshot)}${snapshot.types.map((t) => typeCard(snapshot, t)).join('')}</main>
<script>${script(refreshMs)}</script></body></html>`;
}
