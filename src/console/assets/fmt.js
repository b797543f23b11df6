// Formatting shared by the console and the tracking page: times in the viewer's zone with
// UTC on hover, durations, statuses as glyph + word (never colour alone), element builder.

/** Creates an element: h('td', {class: 'x', title: 't'}, child, 'text', ...). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    // CSSOM, not the attribute: the Content-Security-Policy forbids inline style attributes.
    else if (k === 'style') Object.assign(el.style, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const hm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dhm = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});
const full = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
});

/** Milliseconds since the epoch of an RFC 3339 string, a number (ms) or null. */
export function ms(t) {
  if (t === null || t === undefined) return null;
  if (typeof t === 'number') return t;
  const v = Date.parse(t);
  return Number.isNaN(v) ? null : v;
}

/** "2025-11-27 03:47:56 UTC" */
export function utc(t) {
  const v = ms(t);
  if (v === null) return '';
  return new Date(v).toISOString().replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
}

/** Local time, short: "14:05" today, "Nov 27, 14:05" otherwise. */
export function local(t) {
  const v = ms(t);
  if (v === null) return '—';
  const d = new Date(v);
  return d.toDateString() === new Date().toDateString() ? hm.format(d) : dhm.format(d);
}

/** A <time> element: local time shown, UTC (and the full local time) on hover. */
export function timeEl(t, text) {
  const v = ms(t);
  if (v === null) return h('span', { class: 'muted' }, '—');
  const iso = new Date(v).toISOString();
  return h('time', { datetime: iso, title: `${utc(v)}\n${full.format(new Date(v))}` }, text ?? local(v));
}

/** "+12 min", "−3 min", "+1 h 05" for a deviation in seconds (+ = late). */
export function deviation(s) {
  if (s === null || s === undefined) return '—';
  const sign = s > 0 ? '+' : s < 0 ? '−' : '±';
  const m = Math.round(Math.abs(s) / 60);
  if (m < 60) return `${sign}${m} min`;
  return `${sign}${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')}`;
}

/** "3 min ago" */
export function ago(t) {
  const v = ms(t);
  if (v === null) return '—';
  const s = Math.max(0, Math.round((Date.now() - v) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** Glyph and words of every status; the colour only repeats what these say. */
export const STATUS = {
  on_time: ['✓', 'On time'],
  late: ['▲', 'Late'],
  early: ['◆', 'Early'],
  off_route: ['✕', 'Off route'],
  no_signal: ['○', 'No signal'],
  arrived: ['●', 'Arrived'],
  departed: ['→', 'Departed'],
  skipped: ['↷', 'Skipped'],
  completed: ['■', 'Completed'],
  cancelled: ['⊘', 'Cancelled'],
  active: ['▶', 'Active'],
  moving: ['➤', 'Moving'],
  stopped: ['■', 'Stopped'],
  offline: ['○', 'Offline'],
  exception: ['▲', 'In exception'],
  online: ['●', 'Online'],
};

/** A status badge: glyph + word, class `st-<status>` for the colour. */
export function badge(status) {
  const [glyph, word] = STATUS[status] || ['•', String(status || '—').replace(/_/g, ' ')];
  return h('span', { class: `badge st-${status}`, dataset: { status } },
    h('span', { 'aria-hidden': 'true' }, glyph), ' ', word);
}

/** Human name of an exception or event type ("alarm_sos" → "Alarm: sos"). */
export function typeName(t) {
  if (!t) return '—';
  if (t.startsWith('alarm_')) return `Alarm: ${t.slice(6).replace(/_/g, ' ')}`;
  const s = t.replace(/_/g, ' ');
  return s[0].toUpperCase() + s.slice(1);
}

/** Calls `fn` at most once per `wait` ms (trailing call kept). */
export function throttle(fn, wait) {
  let timer = null;
  let last = 0;
  return (...args) => {
    const now = performance.now();
    const run = () => { last = performance.now(); timer = null; fn(...args); };
    if (timer) return;
    if (now - last >= wait) run();
    else timer = setTimeout(run, wait - (now - last));
  };
}

/** Keyboard navigation of table rows: Up/Down move focus, Enter/Space activate. */
export function rowKeys(tbody, activate) {
  tbody.addEventListener('keydown', (e) => {
    const row = e.target.closest('tr');
    if (!row) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const next = e.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling;
      if (next) next.focus();
      e.preventDefault();
    } else if (e.key === 'Enter' || e.key === ' ') {
      activate(row);
      e.preventDefault();
    }
  });
  tbody.addEventListener('click', (e) => {
    const row = e.target.closest('tr');
    if (row && !e.target.closest('a,button,input')) activate(row);
  });
}
