// The customer tracking page: one shipment's map, next ETA with its P10–P90 band and the
// stop statuses, from `/track/<token>/data`; `/track/<token>/stream` says when to re-read.
// It sees nothing else: the server builds that JSON for customers.

import { MapView, COLORS } from './map.js';
import { h, badge, timeEl, local } from './fmt.js';

const settings = JSON.parse(document.querySelector('meta[name="trackgate-settings"]').content);
const base = new URL('.', import.meta.url).pathname.replace(/\/$/, '');
const path = location.pathname.replace(/\/$/, '');
const section = document.getElementById('track');
const map = new MapView(document.getElementById('track-map'), { base, settings, label: 'Route, stops and vehicle' });
let fitted = false;

function gone() {
  document.getElementById('gone').hidden = false;
  section.replaceChildren();
  document.getElementById('track-map').hidden = true;
  document.getElementById('live').textContent = '';
}

async function load() {
  const resp = await fetch(`${path}/data`, { headers: { Accept: 'application/json' } });
  if (resp.status === 404) { gone(); return false; }
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  render(await resp.json());
  return true;
}

function render(s) {
  const next = s.stops.find((st) => !['arrived', 'departed', 'skipped'].includes(st.status));
  const pct = Math.round(s.progress * 100);
  section.replaceChildren(
    h('h2', {}, 'Shipment ', h('span', { id: 'track-id' }, s.id), ' ', badge(s.status === 'active' ? (next?.status || 'on_time') : s.status)),
    next && next.eta
      ? h('p', { class: 'big-eta', id: 'track-eta' }, `Arriving at ${next.name} around `, timeEl(next.eta),
        h('span', { class: 'band' }, ` (between ${local(next.eta_p10)} and ${local(next.eta_p90)})`))
      : h('p', { class: 'big-eta', id: 'track-eta' }, s.status === 'completed' ? 'Delivered.' : 'Waiting for the vehicle\'s position.'),
    h('div', { class: 'bar', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-label': `Progress ${pct}%` },
      h('div', { class: 'bar-fill', style: { width: `${pct}%` } })),
    h('table', { class: 'grid', id: 'track-stops' },
      h('thead', {}, h('tr', {}, ...['Stop', 'Planned', 'Expected (band)', 'Arrived', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, s.stops.map((st) => h('tr', {},
        h('td', {}, st.name),
        h('td', {}, timeEl(st.planned_arrival)),
        h('td', {}, st.arrived_at ? '—' : st.eta ? [timeEl(st.eta), h('span', { class: 'band' }, ` (${local(st.eta_p10)}–${local(st.eta_p90)})`)] : '—'),
        h('td', {}, timeEl(st.arrived_at)),
        h('td', {}, badge(st.status)))))),
    h('p', { class: 'muted' }, 'Link valid until ', timeEl(s.expires), '.'),
  );
  map.setLines([{ coords: s.route, color: COLORS.route, width: 3, dash: [8, 6] }]);
  const points = s.stops.map((st, i) => ({ id: `s${i}`, lon: st.lon, lat: st.lat, label: String(i + 1),
    color: ['arrived', 'departed'].includes(st.status) ? '#009E73' : st.status === 'late' ? COLORS.exception : COLORS.moving }));
  if (s.vehicle) points.push({ id: 'vehicle', lon: s.vehicle.lon, lat: s.vehicle.lat, shape: 'vehicle' });
  map.setPoints(points);
  if (!fitted) { map.fit(s.route); fitted = true; }
}

function stream() {
  const es = new EventSource(`${path}/stream`);
  const live = document.getElementById('live');
  es.onopen = () => { live.dataset.state = 'live'; live.textContent = '● Live'; };
  es.onerror = () => {
    live.dataset.state = 'reconnecting';
    live.textContent = '◌ Reconnecting…';
    if (es.readyState === EventSource.CLOSED) { es.close(); load().then((ok) => ok && setTimeout(stream, 5000)); }
  };
  let pending = null;
  es.addEventListener('update', () => {
    pending ??= setTimeout(() => { pending = null; load().catch(() => {}); }, 300);
  });
  es.addEventListener('gone', () => { es.close(); gone(); });
}

load().then((ok) => { if (ok) stream(); document.body.dataset.loaded = 'true'; })
  .catch((e) => { section.replaceChildren(h('p', { class: 'error' }, e.message)); });
