// The console's only way to the server: the public REST API with the pasted token as a
// bearer, and Server-Sent Events (EventSource cannot send headers, so the token goes in
// `?access_token=`). No polling: state comes from REST once, changes from the streams.

const KEY = 'trackgate.token';

export function token() {
  return sessionStorage.getItem(KEY) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t.trim());
  else sessionStorage.removeItem(KEY);
}

/** Raised when the server wants a (different) token. */
export class AuthError extends Error {}

/** Listeners for 401/403 answers (the login dialog). */
export const authListeners = new Set();

/** fetch + JSON with the token; throws on a non-2xx answer (with the server's message). */
export async function api(path, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (opts.body !== undefined && typeof opts.body !== 'string') {
    headers['Content-Type'] = 'application/json';
    opts = { ...opts, body: JSON.stringify(opts.body) };
  }
  const resp = await fetch(path, { ...opts, headers });
  const text = await resp.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (resp.status === 401 || resp.status === 403) {
    for (const l of authListeners) l(resp.status, body);
    throw new AuthError(body?.error || `HTTP ${resp.status}`);
  }
  if (!resp.ok) {
    const e = new Error(body?.error || `HTTP ${resp.status}`);
    e.status = resp.status;
    e.body = body;
    throw e;
  }
  return { body, headers: resp.headers };
}

/** Every device, following the `Link: rel="next"` pages of `/api/devices`. */
export async function allDevices() {
  const out = [];
  let path = '/api/devices?limit=5000';
  for (let i = 0; path && i < 1000; i++) {
    const { body, headers } = await api(path);
    out.push(...body);
    const link = headers.get('link') || '';
    const m = link.match(/<([^>]+)>\s*;\s*rel="next"/);
    path = m ? m[1] : null;
  }
  return out;
}

/** Every page of a list answer `{[key]: [...], next}` using `param` as the cursor. */
export async function allPages(base, key, param, max = 20) {
  const out = [];
  let next = null;
  for (let i = 0; i < max; i++) {
    const sep = base.includes('?') ? '&' : '?';
    const { body } = await api(next === null ? base : `${base}${sep}${param}=${next}`);
    out.push(...body[key]);
    next = body.next;
    if (next === null || next === undefined) break;
  }
  return out;
}

function withToken(path) {
  const t = token();
  if (!t) return path;
  return `${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(t)}`;
}

/**
 * One live stream: an EventSource that the browser reconnects by itself with
 * `Last-Event-ID` after a network error ("reconnecting"). When the server ends it for
 * good (an error status, `lagged`) the state may have gaps: a new source is opened after
 * a pause and `onReset` reloads the state from REST.
 */
export class LiveStream {
  constructor(path, handlers, { onStatus, onReset }) {
    this.path = path;
    this.handlers = handlers;
    this.onStatus = onStatus;
    this.onReset = onReset;
    this.pause = 1000;
    this.status = 'connecting';
    this.open();
  }

  setStatus(s) {
    if (s !== this.status) {
      this.status = s;
      this.onStatus(s);
    }
  }

  open() {
    const es = new EventSource(withToken(this.path));
    this.es = es;
    es.onopen = () => { this.pause = 1000; this.setStatus('live'); };
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) this.restart();
      else this.setStatus('reconnecting');
    };
    for (const [name, fn] of Object.entries(this.handlers)) {
      es.addEventListener(name, (e) => {
        let data;
        try { data = JSON.parse(e.data); } catch { return; }
        fn(data, e.lastEventId);
      });
    }
    es.addEventListener('lagged', () => this.restart());
  }

  /** Closes this source and opens a fresh one (at the live end), then reloads from REST. */
  restart() {
    this.es.close();
    this.setStatus('reconnecting');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.open();
      this.onReset();
    }, this.pause);
    this.pause = Math.min(this.pause * 2, 30000);
  }
}
