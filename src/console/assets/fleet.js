// Fleet map: every device at its latest fix, by state (shape + colour), clustered when
// zoomed out; a click opens the device panel.

import { MapView, drawMarker } from './map.js';
import { h, badge, timeEl, ago, typeName, throttle } from './fmt.js';
import { deviceState, isOnline } from './main.js';

/** Routes of active shipments are drawn when there are at most this many. */
const MAX_ROUTES = 200;

export class FleetView {
  constructor(section, { store, base, settings }) {
    this.section = section;
    this.store = store;
    this.visible = false;
    this.fitted = false;
    const box = h('div', { class: 'map-box', id: 'fleet-map' });
    this.panel = h('aside', { class: 'panel', id: 'device-panel', 'aria-live': 'polite', hidden: true });
    section.append(
      h('h2', { class: 'sr-only' }, 'Fleet map'),
      h('div', { class: 'map-wrap' }, box, legend()),
      this.panel,
    );
    this.map = new MapView(box, {
      base, settings, label: 'Fleet map: devices by state',
      onSelect: (t) => this.select(t && t.kind === 'device' ? t.id : null),
    });
    this.refresh = throttle(() => this.render(), 500);
    store.on((kind) => { if (this.visible) this.refresh(); if (kind === 'reset') this.fitted = false; });
    setInterval(() => { if (this.visible) this.refresh(); }, 15000); // offline transitions
  }

  show(arg) {
    this.visible = true;
    this.map.resize();
    if (arg) {
      this.selected = arg;
      const d = this.store.devices.get(arg);
      if (d && d.lat !== null && d.lat !== undefined) this.map.setView(d.lon, d.lat, Math.max(this.map.zoom, 12));
    }
    this.render();
  }

  hide() { this.visible = false; }

  render() {
    const now = Date.now();
    const list = [];
    for (const d of this.store.devices.values()) {
      if (d.lat === null || d.lat === undefined) continue;
      list.push({ id: d.id, lon: d.lon, lat: d.lat, course: d.course, state: deviceState(d, now) });
    }
    this.map.setDevices(list);
    const active = [...this.store.shipments.values()].filter((s) => s.status === 'active');
    this.map.select(this.selected);
    if (!this.fitted && list.length && document.body.dataset.loaded) {
      this.map.fit(list.map((d) => [d.lon, d.lat]), 40, 12);
      this.fitted = true;
    }
    this.drawRoutes(active);
    this.renderPanel();
  }

  drawRoutes(active) {
    if (active.length > MAX_ROUTES && !this.selected) { this.map.setLines([]); return; }
    const shown = active.length > MAX_ROUTES ? active.filter((s) => s.device === this.selected) : active;
    const key = shown.map((s) => s.id).join(',');
    if (key === this.routeKey) return;
    this.routeKey = key;
    Promise.all(shown.map((s) => this.route(s.id))).then((routes) => {
      this.map.setLines(routes.filter(Boolean).map((coords) => ({ coords, color: '#7a8591', width: 2, dash: [6, 4] })));
    });
  }

  async route(id) {
    this.routes ??= new Map();
    if (!this.routes.has(id)) {
      this.routes.set(id, import('./api.js')
        .then(({ api }) => api(`/api/shipments/${encodeURIComponent(id)}/history`))
        .then((r) => r.body.route).catch(() => null));
    }
    return this.routes.get(id);
  }

  select(id) {
    this.selected = id;
    this.map.select(id);
    this.renderPanel();
  }

  renderPanel() {
    const d = this.selected && this.store.devices.get(this.selected);
    if (!d) { this.panel.hidden = true; return; }
    const state = deviceState(d);
    const exc = [...this.store.exceptions.values()].filter((e) => e.device === d.id && e.open);
    const ships = [...this.store.shipments.values()].filter((s) => s.device === d.id && s.status === 'active');
    this.panel.replaceChildren(
      h('div', { class: 'panel-head' },
        h('h3', {}, 'Device ', h('span', { class: 'mono', id: 'panel-device' }, d.id), d.name ? ` · ${d.name}` : ''),
        h('button', { type: 'button', class: 'close', 'aria-label': 'Close device panel', onclick: () => this.select(null) }, '×')),
      badge(state),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Protocol'), h('dd', {}, d.protocol || '—'),
        h('dt', {}, 'Last fix'), h('dd', {}, timeEl(d.time)),
        h('dt', {}, 'Speed'), h('dd', {}, d.speed === null || d.speed === undefined ? '—' : `${Math.round(d.speed)} km/h`),
        h('dt', {}, 'Position'), h('dd', { class: 'mono' }, d.lat === null ? '—' : `${d.lat.toFixed(5)}, ${d.lon.toFixed(5)}`),
        h('dt', {}, 'Last seen'), h('dd', {}, timeEl(d.last_seen, ago(d.last_seen)), isOnline(d) ? ' (online)' : ' (offline)'),
      ),
      h('h4', {}, `Open exceptions (${exc.length})`),
      exc.length ? h('ul', { class: 'plain' }, exc.map((e) => h('li', {}, h('a', { href: '#/exceptions' }, typeName(e.type)), ' — ', e.message)))
        : h('p', { class: 'muted' }, 'None'),
      h('h4', {}, 'Shipment'),
      ships.length ? h('ul', { class: 'plain' }, ships.map((s) => h('li', {}, h('a', { href: `#/shipments/${encodeURIComponent(s.id)}` }, s.id))))
        : h('p', { class: 'muted' }, 'None active'),
    );
    this.panel.hidden = false;
  }
}

function legend() {
  const item = (state, text) => {
    const c = h('canvas', { width: 28, height: 28, 'aria-hidden': 'true' });
    const ctx = c.getContext('2d');
    ctx.scale(28 / 28, 1);
    drawMarker(ctx, 14, 14, state, 45, 1);
    return h('li', {}, c, text);
  };
  return h('ul', { class: 'legend', 'aria-label': 'Legend' },
    item('moving', 'Moving (circle, heading)'),
    item('stopped', 'Stopped (square)'),
    item('offline', 'Offline (hollow)'),
    item('exception', 'In exception (triangle)'),
    h('li', {}, h('span', { class: 'legend-cluster', 'aria-hidden': 'true' }, '12'), 'Cluster: click to zoom'));
}
