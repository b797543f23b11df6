// Devices: search, name and plate from the device registry, last seen, online, protocol,
// firmware where the device reports it.

import { h, badge, timeEl, ago, throttle, rowKeys } from './fmt.js';
import { isOnline } from './main.js';

const MAX_ROWS = 500;

/** Firmware as devices report it in their IO attributes (names differ per protocol). */
function firmware(d) {
  const io = d.io || {};
  for (const k of ['firmware', 'fw', 'version', 'firmware_version']) if (io[k] !== undefined) return String(io[k]);
  return null;
}

export class DevicesView {
  constructor(section, { store }) {
    this.section = section;
    this.store = store;
    this.search = h('input', { type: 'search', id: 'dev-search', placeholder: 'Search id, name, plate or protocol', 'aria-label': 'Search devices' });
    this.onlyOnline = h('input', { type: 'checkbox', id: 'dev-online' });
    this.count = h('p', { class: 'muted', id: 'dev-count', 'aria-live': 'polite' });
    this.body = h('tbody', { id: 'dev-rows' });
    section.append(h('h2', {}, 'Devices'),
      h('div', { class: 'filters' }, this.search, h('label', {}, this.onlyOnline, ' Online only')),
      this.count,
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'dev-table' },
        h('caption', { class: 'sr-only' }, 'Devices; arrow keys move between rows, Enter shows the device on the map'),
        h('thead', {}, h('tr', {}, ...['Device', 'Name', 'Protocol', 'Status', 'Last seen', 'Last fix', 'Speed', 'Position', 'Firmware'].map((c) => h('th', { scope: 'col' }, c)))),
        this.body)));
    for (const el of [this.search, this.onlyOnline]) el.addEventListener('input', () => this.render());
    rowKeys(this.body, (row) => { location.hash = `#/map/${encodeURIComponent(row.dataset.id)}`; });
    this.refresh = throttle(() => this.render(), 1000);
    store.on(() => { if (this.visible) this.refresh(); });
  }

  show() { this.visible = true; this.render(); }
  hide() { this.visible = false; }

  render() {
    const q = this.search.value.trim().toLowerCase();
    const now = Date.now();
    const rows = [...this.store.devices.values()]
      .filter((d) => (!q || [d.id, d.name, d.plate, d.protocol].some((v) => v && v.toLowerCase().includes(q)))
        && (!this.onlyOnline.checked || isOnline(d, now)))
      .sort((a, b) => a.id.localeCompare(b.id));
    this.body.replaceChildren(...rows.slice(0, MAX_ROWS).map((d) => {
      const on = isOnline(d, now);
      return h('tr', { tabindex: 0, dataset: { id: d.id } },
        h('td', { class: 'mono' }, d.id),
        h('td', {}, d.name || (d.plate ? '' : h('span', { class: 'muted' }, '—')),
          d.plate ? h('span', { class: 'muted' }, d.name ? ` · ${d.plate}` : d.plate) : ''),
        h('td', {}, d.protocol || '—'),
        h('td', {}, badge(on ? 'online' : 'offline')),
        h('td', {}, timeEl(d.last_seen, ago(d.last_seen))),
        h('td', {}, timeEl(d.time)),
        h('td', {}, d.speed === null || d.speed === undefined ? '—' : `${Math.round(d.speed)} km/h`),
        h('td', { class: 'mono' }, d.lat === null || d.lat === undefined ? '—' : `${d.lat.toFixed(4)}, ${d.lon.toFixed(4)}`),
        h('td', {}, firmware(d) || h('span', { class: 'muted' }, '—')));
    }));
    this.count.textContent = rows.length > MAX_ROWS
      ? `Showing ${MAX_ROWS} of ${rows.length} devices; narrow the search to see the rest.`
      : `${rows.length} device${rows.length === 1 ? '' : 's'}`;
  }
}
