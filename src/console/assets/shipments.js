// Shipments table: sortable, filterable (late only, customer, text), live.

import { h, badge, timeEl, local, deviation, throttle, rowKeys, ms } from './fmt.js';
import { shipmentStatus, nextStop } from './main.js';

/** Rows rendered at most (narrow the filter for the rest). */
const MAX_ROWS = 500;

const COLUMNS = [
  ['id', 'Shipment', (s) => s.id],
  ['customer', 'Customer', (s) => s.customer || ''],
  ['device', 'Device', (s) => s.device],
  ['progress', 'Progress', (s) => s.progress || 0],
  ['next', 'Next stop', (s) => nextStop(s)?.name || ''],
  ['eta', 'ETA (P10–P90)', (s) => ms(nextStop(s)?.eta) ?? Infinity],
  ['deviation', 'Deviation', (s) => nextStop(s)?.deviation_s ?? -Infinity],
  ['status', 'Status', (s) => shipmentStatus(s)],
];

export class ShipmentsView {
  constructor(section, { store }) {
    this.section = section;
    this.store = store;
    this.sort = { key: 'deviation', dir: -1 };
    this.search = h('input', { type: 'search', id: 'ship-search', placeholder: 'Search id, device, customer, stop', 'aria-label': 'Search shipments' });
    this.lateOnly = h('input', { type: 'checkbox', id: 'ship-late' });
    this.customer = h('select', { id: 'ship-customer', 'aria-label': 'Customer' }, h('option', { value: '' }, 'All customers'));
    this.activeOnly = h('input', { type: 'checkbox', id: 'ship-active', checked: true });
    this.count = h('p', { class: 'muted', 'aria-live': 'polite', id: 'ship-count' });
    this.head = h('tr');
    this.body = h('tbody', { id: 'ship-rows' });
    section.append(
      h('h2', {}, 'Shipments'),
      h('div', { class: 'filters' },
        this.search,
        h('label', {}, this.lateOnly, ' Late only'),
        h('label', {}, this.activeOnly, ' Active only'),
        this.customer),
      this.count,
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'ship-table' },
        h('caption', { class: 'sr-only' }, 'Shipments; column headers sort; arrow keys move between rows, Enter opens'),
        h('thead', {}, this.head), this.body)),
    );
    for (const [key, label] of COLUMNS) {
      const b = h('button', { type: 'button', class: 'sort', onclick: () => this.sortBy(key) }, label);
      this.head.append(h('th', { scope: 'col', dataset: { key } }, b));
    }
    for (const el of [this.search, this.lateOnly, this.customer, this.activeOnly]) {
      el.addEventListener('input', () => this.render());
    }
    rowKeys(this.body, (row) => { location.hash = `#/shipments/${encodeURIComponent(row.dataset.id)}`; });
    this.refresh = throttle(() => this.render(), 500);
    store.on((kind) => { if (this.visible && kind !== 'position') this.refresh(); });
  }

  show() { this.visible = true; this.render(); }
  hide() { this.visible = false; }

  sortBy(key) {
    this.sort = { key, dir: this.sort.key === key ? -this.sort.dir : 1 };
    this.render();
  }

  rows() {
    const q = this.search.value.trim().toLowerCase();
    const cust = this.customer.value;
    return [...this.store.shipments.values()].filter((s) => {
      if (this.activeOnly.checked && s.status !== 'active') return false;
      if (this.lateOnly.checked && shipmentStatus(s) !== 'late') return false;
      if (cust && s.customer !== cust) return false;
      if (!q) return true;
      return [s.id, s.device, s.customer, nextStop(s)?.name].some((v) => v && String(v).toLowerCase().includes(q));
    });
  }

  render() {
    const customers = [...new Set([...this.store.shipments.values()].map((s) => s.customer).filter(Boolean))].sort();
    const have = [...this.customer.options].map((o) => o.value).slice(1);
    if (customers.join('\n') !== have.join('\n')) {
      const cur = this.customer.value;
      this.customer.replaceChildren(h('option', { value: '' }, 'All customers'),
        ...customers.map((c) => h('option', { value: c, selected: c === cur }, c)));
    }
    const col = COLUMNS.find((c) => c[0] === this.sort.key);
    const rows = this.rows().sort((a, b) => {
      const x = col[2](a);
      const y = col[2](b);
      return (x < y ? -1 : x > y ? 1 : 0) * this.sort.dir || a.id.localeCompare(b.id);
    });
    for (const th of this.head.children) {
      th.setAttribute('aria-sort', th.dataset.key === this.sort.key ? (this.sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    const focused = document.activeElement?.closest?.('#ship-rows tr')?.dataset.id;
    this.body.replaceChildren(...rows.slice(0, MAX_ROWS).map((s) => this.row(s)));
    if (focused) this.body.querySelector(`tr[data-id="${CSS.escape(focused)}"]`)?.focus();
    this.count.textContent = rows.length > MAX_ROWS
      ? `Showing ${MAX_ROWS} of ${rows.length} shipments; narrow the search to see the rest.`
      : `${rows.length} shipment${rows.length === 1 ? '' : 's'}`;
  }

  row(s) {
    const n = nextStop(s);
    const pct = Math.round((s.progress || 0) * 100);
    const status = shipmentStatus(s);
    return h('tr', { tabindex: 0, dataset: { id: s.id, status }, class: `row-${status}` },
      h('td', {}, h('a', { href: `#/shipments/${encodeURIComponent(s.id)}` }, s.id)),
      h('td', {}, s.customer || h('span', { class: 'muted' }, '—')),
      h('td', { class: 'mono' }, s.device),
      h('td', {}, h('div', { class: 'bar', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-label': `${pct}%` },
        h('div', { class: 'bar-fill', style: { width: `${pct}%` } })), h('span', { class: 'bar-text' }, `${pct}%`)),
      h('td', {}, n ? n.name || n.id : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'eta' }, n && n.eta ? [timeEl(n.eta), h('span', { class: 'band' }, ' (', local(n.eta_p10), '–', local(n.eta_p90), ')')] : h('span', { class: 'muted' }, '—')),
      h('td', { class: n && n.deviation_s >= 60 ? 'late' : '' }, deviation(n?.deviation_s)),
      h('td', {}, badge(status)),
    );
  }
}
