// Exceptions feed: newest first, live, by type; "Open" hides what was acknowledged (by
// anyone: acknowledgements arrive through /api/console/notices), resolved or escalated.
// Acknowledging is offered only to a token with `write`.

import { api } from './api.js';
import { h, timeEl, typeName, throttle, ms } from './fmt.js';
import { may } from './main.js';

const MAX_ITEMS = 300;

export class ExceptionsView {
  constructor(section, { store }) {
    this.section = section;
    this.store = store;
    this.mode = h('select', { id: 'exc-mode', 'aria-label': 'Which exceptions' },
      h('option', { value: 'open' }, 'Open'), h('option', { value: 'all' }, 'All (with acknowledged and resolved)'));
    this.type = h('select', { id: 'exc-type', 'aria-label': 'Type' }, h('option', { value: '' }, 'All types'));
    this.list = h('ol', { class: 'feed', id: 'exc-list', 'aria-live': 'polite' });
    this.count = h('p', { class: 'muted', id: 'exc-summary' });
    section.append(h('h2', {}, 'Exceptions'), h('div', { class: 'filters' }, this.mode, this.type), this.count, this.list);
    for (const el of [this.mode, this.type]) el.addEventListener('input', () => this.render());
    this.refresh = throttle(() => this.render(), 300);
    store.on((kind) => { if (this.visible && kind !== 'position' && kind !== 'eta') this.refresh(); });
  }

  show() { this.visible = true; this.render(); }
  hide() { this.visible = false; }

  render() {
    const all = [...this.store.exceptions.values()].sort((a, b) => (ms(b.time) - ms(a.time)) || (b.id > a.id ? 1 : -1));
    const types = [...new Set(all.map((e) => e.type))].sort();
    if (types.join() !== [...this.type.options].slice(1).map((o) => o.value).join()) {
      const cur = this.type.value;
      this.type.replaceChildren(h('option', { value: '' }, 'All types'),
        ...types.map((t) => h('option', { value: t, selected: t === cur }, typeName(t))));
    }
    const open = this.mode.value === 'open';
    const shown = all.filter((e) => (!open || e.open) && (!this.type.value || e.type === this.type.value));
    if (this.section.contains(document.activeElement) && document.activeElement.closest('form')) return; // typing a note
    this.list.replaceChildren(...shown.slice(0, MAX_ITEMS).map((e) => this.item(e)));
    this.count.textContent = `${shown.length} ${open ? 'open ' : ''}exception${shown.length === 1 ? '' : 's'}`;
  }

  item(e) {
    const state = e.open ? 'open' : e.ack ? 'acknowledged' : 'closed';
    const li = h('li', { class: `exc exc-${state}`, dataset: { id: e.id, type: e.type, state } },
      h('div', { class: 'exc-head' },
        h('span', { class: 'badge st-late' }, h('span', { 'aria-hidden': 'true' }, '▲'), ' ', typeName(e.type)),
        e.tier ? h('span', { class: 'tier' }, `tier ${e.tier}`) : '',
        ' ', timeEl(e.time),
        h('span', { class: 'exc-state' }, e.open ? 'Open' : e.ack ? 'Acknowledged' : 'Resolved or escalated')),
      h('p', { class: 'exc-msg' }, e.message),
      h('p', { class: 'muted' },
        e.shipment ? ['Shipment ', h('a', { href: `#/shipments/${encodeURIComponent(e.shipment)}` }, e.shipment), e.stop ? `, stop ${e.stop}` : '', ' · '] : '',
        'Device ', h('a', { href: `#/map/${encodeURIComponent(e.device)}`, class: 'mono' }, e.device)),
      e.ack ? h('p', { class: 'ack' }, 'Acknowledged by ', h('strong', {}, e.ack.by), ' ', timeEl(e.ack.at), e.ack.note ? `: “${e.ack.note}”` : '') : '');
    if (e.open && may('write')) {
      li.append(h('button', { type: 'button', class: 'ack-btn', onclick: () => this.ackForm(li, e) }, 'Acknowledge…'));
    }
    return li;
  }

  ackForm(li, e) {
    const note = h('textarea', { name: 'note', rows: 2, maxlength: 2000, 'aria-label': 'Note (what was done)', placeholder: 'What was done (optional)' });
    const msg = h('p', { class: 'error', 'aria-live': 'assertive' });
    const form = h('form', { class: 'ack-form' }, note,
      h('button', { type: 'submit' }, 'Acknowledge'),
      h('button', { type: 'button', onclick: () => { form.remove(); this.render(); } }, 'Cancel'), msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const { body } = await api(`/api/exceptions/${encodeURIComponent(e.id)}/ack`, { method: 'POST', body: { note: note.value } });
        Object.assign(e, { ack: body.ack, open: false });
      } catch (err) {
        if (err.status === 409 && err.body?.ack) Object.assign(e, { ack: err.body.ack, open: false });
        else { msg.textContent = err.message; return; }
      }
      form.remove();
      this.store.emit('ack', { id: e.id });
    });
    li.querySelector('.ack-btn')?.replaceWith(form);
    note.focus();
  }
}
