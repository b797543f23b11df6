// One shipment: its route, stops (planned vs ETA vs actual), the vehicle's trail, the ETA
// of a stop over time, and the customer tracking links.

import { MapView, COLORS } from './map.js';
import { api } from './api.js';
import { h, badge, timeEl, local, deviation, throttle, typeName } from './fmt.js';
import { shipmentStatus, nextStop, may } from './main.js';
import { etaChart } from './chart.js';

const STOP_COLORS = {
  arrived: '#009E73', departed: '#009E73', skipped: '#8c8c8c', late: COLORS.exception,
  early: '#56B4E9', off_route: '#CC79A7', no_signal: '#8c8c8c', on_time: '#0072B2',
};

export class ShipmentView {
  constructor(section, { store, base, settings }) {
    this.section = section;
    this.store = store;
    this.head = h('div', { class: 'ship-head' });
    this.stops = h('div', { class: 'table-wrap' });
    this.chartStop = h('select', { id: 'chart-stop', 'aria-label': 'Stop shown in the chart' });
    this.chart = h('figure', { class: 'chart-box', id: 'eta-chart' });
    this.shares = h('div', { class: 'shares', id: 'shares' });
    const box = h('div', { class: 'map-box map-small', id: 'ship-map' });
    section.append(
      h('p', {}, h('a', { href: '#/shipments' }, '← All shipments')),
      this.head,
      h('div', { class: 'ship-grid' },
        box,
        h('div', {}, h('h3', {}, 'Stops'), this.stops)),
      h('div', { class: 'ship-grid' },
        h('div', {}, h('h3', {}, 'ETA over time ', this.chartStop), this.chart,
          h('p', { class: 'legend-line muted' }, h('span', { class: 'key-eta' }), ' ETA (P50) ', h('span', { class: 'key-band' }), ' P10–P90 band ', h('span', { class: 'key-planned' }), ' Planned')),
        h('div', {}, h('h3', {}, 'Customer tracking link'), this.shares)),
    );
    this.map = new MapView(box, { base, settings, label: 'Shipment map: route, stops, trail and vehicle' });
    this.chartStop.addEventListener('input', () => { this.chartChosen = this.chartStop.value; this.renderChart(); });
    this.refresh = throttle(() => this.render(), 500);
    store.on((kind, data) => this.onEvent(kind, data));
  }

  async show(id) {
    this.visible = true;
    if (id !== this.id) {
      this.id = id;
      this.history = null;
      this.chartChosen = null;
      this.fitted = false;
      this.head.replaceChildren(h('h2', {}, 'Shipment ', id));
    }
    this.map.resize();
    this.render();
    try {
      const { body } = await api(`/api/shipments/${encodeURIComponent(id)}/history`);
      if (this.id !== id) return;
      this.history = body;
      this.render();
      this.loadShares();
    } catch (e) {
      this.head.append(h('p', { class: 'error' }, `Could not load the shipment: ${e.message}`));
    }
  }

  hide() { this.visible = false; }

  onEvent(kind, data) {
    if (!this.visible || !this.history) return;
    const s = this.store.shipments.get(this.id);
    if (kind === 'eta' && data.shipment === this.id) {
      let series = this.history.eta.find((x) => x.stop === data.stop);
      if (!series) { series = { stop: data.stop, planned: Date.parse(data.planned), samples: [] }; this.history.eta.push(series); }
      series.samples.push([Date.parse(data.fix_time), Date.parse(data.eta), Date.parse(data.eta_p10), Date.parse(data.eta_p90)]);
      this.refresh();
    } else if (kind === 'position' && s && data.id === s.device && data.valid) {
      this.history.trail.push([Date.parse(data.time), data.lat, data.lon]);
      this.refresh();
    } else if (kind === 'shipments' || kind === 'reset' || kind === 'alert') {
      this.refresh();
    }
  }

  render() {
    const s = this.store.shipments.get(this.id);
    if (!s) return;
    const status = shipmentStatus(s);
    const pct = Math.round((s.progress || 0) * 100);
    this.head.replaceChildren(
      h('h2', {}, 'Shipment ', h('span', { id: 'ship-title' }, s.id), ' ', badge(status)),
      h('p', { class: 'muted' },
        'Device ', h('a', { href: `#/map/${encodeURIComponent(s.device)}`, class: 'mono' }, s.device),
        s.customer ? ` · Customer ${s.customer}` : '',
        ` · ${pct}% of ${(s.route_length_m / 1000).toFixed(1)} km`,
        ' · Last fix ', timeEl(s.last_fix),
        (s.exceptions || []).length ? ` · Exceptions: ${s.exceptions.map((e) => typeName(e.type)).join(', ')}` : ''),
    );
    this.renderStops(s);
    if (this.history) {
      this.renderMap(s);
      this.renderChart();
    }
  }

  renderStops(s) {
    const coords = new Map((this.history?.stops || []).map((x) => [x.id, x]));
    const rows = s.stops.map((st, i) => h('tr', { dataset: { stop: st.id, status: st.status } },
      h('td', {}, String(i + 1)),
      h('td', {}, st.name || coords.get(st.id)?.name || st.id),
      h('td', {}, timeEl(st.planned_arrival)),
      h('td', {}, st.arrived_at ? h('span', { class: 'muted' }, '—')
        : st.eta ? [timeEl(st.eta), h('span', { class: 'band' }, ` (${local(st.eta_p10)}–${local(st.eta_p90)})`)] : '—'),
      h('td', {}, st.arrived_at ? timeEl(st.arrived_at) : '—', st.departed_at ? [' → ', timeEl(st.departed_at)] : ''),
      h('td', {}, deviation(st.deviation_s)),
      h('td', {}, badge(st.status))));
    this.stops.replaceChildren(h('table', { class: 'grid', id: 'stops-table' },
      h('caption', { class: 'sr-only' }, 'Stops: planned, estimated and actual times'),
      h('thead', {}, h('tr', {}, ...['#', 'Stop', 'Planned', 'ETA (P10–P90)', 'Actual', 'Deviation', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows)));
  }

  renderMap(s) {
    const hist = this.history;
    const trail = hist.trail.map(([, lat, lon]) => [lon, lat]);
    this.map.setLines([
      { coords: hist.route, color: COLORS.route, width: 3, dash: [8, 6] },
      { coords: trail, color: COLORS.trail, width: 3.5 },
    ]);
    const statusOf = new Map(s.stops.map((st) => [st.id, st.status]));
    const points = hist.stops.map((st, i) => ({
      id: st.id, lon: st.lon, lat: st.lat, label: String(i + 1), color: STOP_COLORS[statusOf.get(st.id)] || COLORS.route,
    }));
    const d = this.store.devices.get(s.device);
    if (d && d.lat !== null && d.lat !== undefined && s.status === 'active') {
      points.push({ id: 'vehicle', lon: d.lon, lat: d.lat, shape: 'vehicle', course: d.course });
    }
    this.map.setPoints(points);
    if (!this.fitted) {
      this.map.fit([...hist.route, ...trail]);
      this.fitted = true;
    }
  }

  renderChart() {
    const s = this.store.shipments.get(this.id);
    if (!s || !this.history) return;
    const names = new Map(s.stops.map((st) => [st.id, st.name || st.id]));
    const withData = this.history.eta.map((x) => x.stop);
    const options = s.stops.filter((st) => withData.includes(st.id)).map((st) => st.id);
    const chosen = this.chartChosen && options.includes(this.chartChosen)
      ? this.chartChosen
      : (options.includes(nextStop(s)?.id) ? nextStop(s).id : options[options.length - 1]);
    if (options.join() !== [...this.chartStop.options].map((o) => o.value).join()) {
      this.chartStop.replaceChildren(...options.map((id) => h('option', { value: id }, names.get(id))));
    }
    this.chartStop.value = chosen || '';
    const series = this.history.eta.find((x) => x.stop === chosen);
    this.chart.replaceChildren(series
      ? etaChart(series.samples, series.planned, names.get(chosen))
      : h('p', { class: 'muted' }, 'No estimates yet.'));
  }

  async loadShares() {
    const id = this.id;
    const ttl = h('select', { id: 'share-ttl', 'aria-label': 'Link lifetime' },
      h('option', { value: '1d' }, '1 day'), h('option', { value: '7d', selected: true }, '7 days'), h('option', { value: '30d' }, '30 days'));
    const out = h('div', { 'aria-live': 'polite' });
    const create = h('button', { type: 'button', id: 'share-create', onclick: async () => {
      try {
        const { body } = await api(`/api/shipments/${encodeURIComponent(id)}/share`, { method: 'POST', body: { expires_in: ttl.value } });
        const url = new URL(body.url, location.origin).href;
        const input = h('input', { type: 'text', readonly: true, value: url, id: 'share-url', 'aria-label': 'Tracking link', size: 50 });
        out.replaceChildren(h('p', {}, 'New link (shown once), valid until ', timeEl(body.expires), ':'), input,
          h('button', { type: 'button', onclick: () => { input.select(); navigator.clipboard?.writeText(url); } }, 'Copy'));
        this.listShares(list);
      } catch (e) { out.replaceChildren(h('p', { class: 'error' }, e.message)); }
    } }, 'Create link');
    const list = h('ul', { class: 'plain', id: 'share-list' });
    this.shares.replaceChildren(h('p', {}, 'A read-only page with this shipment\'s map, ETA band and stop statuses only.'),
      may('write') ? h('div', { class: 'filters' }, ttl, create) : h('p', { class: 'muted', id: 'share-readonly' }, 'Making and revoking links needs a token with write.'),
      out, list);
    this.listShares(list);
  }

  async listShares(list) {
    const id = this.id;
    try {
      const { body } = await api(`/api/shipments/${encodeURIComponent(id)}/shares`);
      list.replaceChildren(...body.map((sh) => h('li', { dataset: { share: sh.id } },
        h('span', { class: 'mono' }, sh.id), ' by ', sh.created_by, ', ',
        sh.revoked ? ['revoked by ', sh.revoked_by, ' ', timeEl(sh.revoked)]
          : sh.valid ? ['expires ', timeEl(sh.expires), ' ', !may('write') ? '' :
            h('button', { type: 'button', class: 'revoke', onclick: async () => {
              await api(`/api/shares/${encodeURIComponent(sh.id)}`, { method: 'DELETE' });
              this.listShares(list);
            } }, 'Revoke')]
            : 'expired')));
    } catch (e) { list.replaceChildren(h('li', { class: 'error' }, e.message)); }
  }
}
