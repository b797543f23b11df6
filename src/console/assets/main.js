// The ops console: state from the REST API once, then changes from `/api/stream` (positions,
// ETA updates, alerts) and `/api/console/notices` (acknowledgements); views render from
// the one store below, each only while it is shown.

import { api, allDevices, allPages, LiveStream, authListeners, token, setToken } from './api.js';
import { ms } from './fmt.js';
import { FleetView } from './fleet.js';
import { ShipmentsView } from './shipments.js';
import { ShipmentView } from './shipment.js';
import { ExceptionsView } from './exceptions.js';
import { DevicesView } from './devices.js';

const settings = JSON.parse(document.querySelector('meta[name="trackgate-settings"]').content);
const base = new URL('.', import.meta.url).pathname.replace(/\/$/, '');

/** The page's state, filled from REST and kept current by the streams. */
export const store = {
  settings,
  base,
  devices: new Map(),
  shipments: new Map(),
  exceptions: new Map(),
  /** Devices with an open exception or an active shipment in exception. */
  troubled: new Set(),
  /** `/api/whoami`: the token's name, what it may do, its customer (null until known). */
  who: null,
  listeners: new Set(),
  on(fn) { this.listeners.add(fn); },
  emit(kind, detail) { for (const l of this.listeners) l(kind, detail); },
};

/** Whether the token may do what `scope` allows: the page offers only that. */
export function may(scope) {
  return !!store.who?.scopes?.includes(scope);
}

/** The header names who the page acts as, and says when it may only read. */
function showWho() {
  const el = document.getElementById('who');
  const w = store.who;
  if (!w) return;
  el.replaceChildren(w.name, w.customer ? ` · customer ${w.customer}` : '', may('write') ? '' : ' · read-only');
  el.title = `Scopes: ${w.scopes.join(', ') || 'none'}`;
  el.dataset.write = String(may('write'));
  el.hidden = false;
}

const RANK = { no_signal: 5, off_route: 4, late: 3, early: 2, on_time: 1 };

/** The next stop not yet reached (arrived/departed/skipped), or null. */
export function nextStop(s) {
  return (s.stops || []).find((st) => !['arrived', 'departed', 'skipped'].includes(st.status)) || null;
}

/** One status for a shipment row: the worst of its open exceptions and next stop. */
export function shipmentStatus(s) {
  if (s.status && s.status !== 'active') return s.status;
  let best = 'on_time';
  const consider = (st) => { if ((RANK[st] || 0) > RANK[best]) best = st; };
  for (const e of s.exceptions || []) consider(e.type);
  const n = nextStop(s);
  if (n) consider(n.status);
  return best;
}

/** Online: heard from within `devices.offline_after_secs`, or connected at the last load. */
export function isOnline(d, now = Date.now()) {
  const seen = ms(d.last_seen);
  return (seen !== null && now - seen < settings.offline_after_s * 1000) || (d.online && d.connections > 0);
}

/** moving / stopped / offline / exception */
export function deviceState(d, now = Date.now()) {
  if (store.troubled.has(d.id)) return 'exception';
  if (!isOnline(d, now)) return 'offline';
  return (d.speed || 0) >= 3 ? 'moving' : 'stopped';
}

/** The exception's identity across tiers and its resolution. */
export function exceptionKey(e) {
  return `${e.type}|${e.device}|${e.shipment || ''}|${e.stop || ''}`;
}

export function openCount() {
  let n = 0;
  for (const e of store.exceptions.values()) if (e.open) n += 1;
  return n;
}

function recomputeTroubled() {
  const t = new Set();
  for (const e of store.exceptions.values()) if (e.open || (e.current && !e.ack)) t.add(e.device);
  for (const s of store.shipments.values()) {
    if (s.status === 'active' && (s.exceptions || []).length) t.add(s.device);
  }
  store.troubled = t;
}

function applyPosition(p) {
  const d = store.devices.get(p.id);
  if (d && d.time && ms(d.time) > ms(p.time)) {
    d.last_seen = p.received;
    return;
  }
  store.devices.set(p.id, {
    ...(d || {}), ...p, online: true, last_seen: p.received, connections: d?.connections ?? 1,
  });
}

function applyEta(e) {
  const s = store.shipments.get(e.shipment);
  if (!s) { refreshShipment(e.shipment); return; }
  const st = (s.stops || []).find((x) => x.id === e.stop);
  if (st && !['arrived', 'departed', 'skipped'].includes(st.status)) {
    Object.assign(st, {
      eta: e.eta, eta_p10: e.eta_p10, eta_p90: e.eta_p90,
      deviation_s: e.deviation_s, status: s.exceptions?.some((x) => x.type === 'no_signal') ? 'no_signal' : e.status,
    });
  }
  s.progress = Math.max(s.progress || 0, e.progress);
  s.off_route_m = e.off_route_m;
  s.last_fix = e.fix_time;
}

function applyAlert(a) {
  if (a.state === 'firing') {
    const key = exceptionKey(a);
    for (const e of store.exceptions.values()) {
      if (exceptionKey(e) === key) { e.current = false; e.open = false; }
    }
    store.exceptions.set(a.id, { ...a, current: true, open: true, ack: null });
  } else if (a.state === 'resolved') {
    const key = exceptionKey(a);
    for (const e of store.exceptions.values()) {
      if (exceptionKey(e) === key) { e.current = false; e.open = false; }
    }
  }
  if (a.shipment) refreshShipment(a.shipment);
}

const refreshing = new Map();
/** Re-reads one shipment (after an alert: stop visits and exceptions change there). */
function refreshShipment(id) {
  if (refreshing.has(id)) return;
  refreshing.set(id, setTimeout(async () => {
    refreshing.delete(id);
    try {
      const { body } = await api(`/api/shipments/${encodeURIComponent(id)}`);
      store.shipments.set(id, body);
      recomputeTroubled();
      store.emit('shipments', id);
    } catch { /* gone or not visible to this token */ }
  }, 250));
}

let loaded = false;
let queued = [];

function handle(kind, fn) {
  return (data, id) => {
    if (!loaded) { queued.push([kind, fn, data, id]); return; }
    fn(data);
    // Only alerts and acknowledgements change who is in exception (ETAs arrive ~1/s per
    // shipment: recomputing then would cost O(exceptions + shipments) per event).
    if (kind === 'alert' || kind === 'ack') recomputeTroubled();
    store.emit(kind, data);
  };
}

async function loadAll() {
  loaded = false;
  const [devices, shipments, open, recent] = await Promise.all([
    allDevices(),
    api('/api/shipments').then((r) => r.body).catch((e) => { if (e.status === 503) return []; throw e; }),
    allPages('/api/exceptions?status=open&limit=1000', 'exceptions', 'before', 10).catch(() => []),
    api('/api/exceptions?status=all&limit=200').then((r) => r.body.exceptions).catch(() => []),
  ]);
  store.devices = new Map(devices.map((d) => [d.id, d]));
  store.shipments = new Map(shipments.map((s) => [s.id, s]));
  store.exceptions = new Map([...recent, ...open].map((e) => [e.id, e]));
  loaded = true;
  for (const [, fn, data] of queued) fn(data);
  queued = [];
  recomputeTroubled();
  store.emit('reset');
}

function setLive(status) {
  const el = document.getElementById('live');
  el.dataset.state = status;
  el.textContent = { live: '● Live', reconnecting: '◌ Reconnecting…', connecting: '◌ Connecting…' }[status];
}

function startStreams() {
  const events = new LiveStream('/api/stream?types=position,eta,alert', {
    position: handle('position', applyPosition),
    eta: handle('eta', applyEta),
    alert: handle('alert', applyAlert),
  }, { onStatus: () => setLive(worst()), onReset: () => loadAll().catch(showError) });
  const notices = new LiveStream('/api/console/notices', {
    ack: handle('ack', (n) => {
      const e = store.exceptions.get(n.id);
      if (e) { e.ack = { by: n.by, note: n.note, at: n.at }; e.open = false; }
    }),
  }, { onStatus: () => setLive(worst()), onReset: () => loadAll().catch(showError) });
  const worst = () => {
    const s = [events.status, notices.status];
    return s.includes('reconnecting') ? 'reconnecting' : s.includes('connecting') ? 'connecting' : 'live';
  };
}

function showError(e) {
  const el = document.getElementById('error');
  el.textContent = `Could not load: ${e.message}`;
  el.hidden = false;
}

function updateCounter() {
  const n = openCount();
  document.getElementById('exc-count').textContent = String(n);
  document.getElementById('exc-count').dataset.n = String(n);
  document.getElementById('exc-count').setAttribute('aria-label', `${n} open`);
  document.title = n ? `(${n}) trackgate console` : 'trackgate console';
}

function setupLogin() {
  const dlg = document.getElementById('login');
  const input = document.getElementById('token-input');
  const msg = document.getElementById('login-msg');
  document.getElementById('login-btn').addEventListener('click', () => {
    msg.textContent = token() ? 'A token is set for this tab.' : 'No token set (not needed on loopback without access control).';
    dlg.showModal();
  });
  authListeners.add((status, body) => {
    msg.textContent = `The server answered ${status}: ${body?.error || 'a token with the right scope is needed'}.`;
    if (!dlg.open) dlg.showModal();
  });
  dlg.addEventListener('close', () => {
    if (dlg.returnValue === 'save') { setToken(input.value); location.reload(); }
    if (dlg.returnValue === 'clear') { setToken(''); location.reload(); }
    input.value = '';
  });
  document.getElementById('login-btn').textContent = token() ? 'Token ✓' : 'Token';
}

const views = {};

function route() {
  const [, name = 'map', arg] = location.hash.replace(/^#\/?/, '#/').split('/').map(decodeURIComponent);
  const key = name === 'shipments' && arg ? 'shipment' : name;
  const view = views[key] ? key : 'map';
  for (const [k, v] of Object.entries(views)) {
    const active = k === view;
    v.section.hidden = !active;
    if (active) v.show(arg); else v.hide?.();
  }
  for (const a of document.querySelectorAll('nav a')) {
    const on = a.dataset.view === (view === 'shipment' ? 'shipments' : view);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

async function start() {
  setupLogin();
  // Before the views: they offer write actions (acknowledge, links) only to a token that may.
  store.who = await api('/api/whoami').then((r) => r.body).catch(() => null);
  showWho();
  const ctx = { store, base, settings };
  views.map = new FleetView(document.getElementById('view-map'), ctx);
  views.shipments = new ShipmentsView(document.getElementById('view-shipments'), ctx);
  views.shipment = new ShipmentView(document.getElementById('view-shipment'), ctx);
  views.exceptions = new ExceptionsView(document.getElementById('view-exceptions'), ctx);
  views.devices = new DevicesView(document.getElementById('view-devices'), ctx);
  store.on((kind) => { if (kind !== 'position' && kind !== 'eta') updateCounter(); });
  window.addEventListener('hashchange', route);
  startStreams();
  loadAll().then(() => { document.body.dataset.loaded = 'true'; }).catch(showError);
  route();
  // For the browser tests and the load check: read-only handles on the page's state.
  window.trackgate = { store, views };
}

start().catch(showError);
