// A small canvas map: Web Mercator, the embedded Natural Earth basemap, optional raster
// tiles from `[console] tiles`, lines (routes, trails), labelled points (stops, vehicle)
// and a device layer clustered on a screen grid. One canvas, redrawn in
// requestAnimationFrame only when something changed: no DOM node per marker, so 10 000
// devices cost a projection and a grid pass per frame.

import { project, unproject, loadBasemap } from './basemap.js';

/** Okabe–Ito colours (distinguishable with the common colour-vision deficiencies); every
 * state also has its own shape, and the legend and lists say it in words. */
export const COLORS = {
  moving: '#0072B2',
  stopped: '#E69F00',
  offline: '#8c8c8c',
  exception: '#D55E00',
  cluster: '#1f2d3d',
  route: '#56606b',
  trail: '#0072B2',
  sea: '#d6e4ee',
  land: '#f3f0e8',
  border: '#b3ab9c',
};

/** Screen cell (px) of the clustering grid. */
const CELL = 64;
/** From this zoom on, devices are drawn one by one (unless too many are in view). */
const CLUSTER_UNTIL = 13;
/** More single markers than this in view are clustered whatever the zoom. */
const MAX_SINGLE = 2500;
const MIN_ZOOM = 1;
const MAX_ZOOM = 19;
const TILE_CACHE = 400;

let basemapLoad = null;

export class MapView {
  /**
   * @param container element to fill
   * @param opts {base: asset prefix, settings: {tiles, attribution}, label: aria label,
   *              onSelect(hit): device / cluster / point clicked}
   */
  constructor(container, opts) {
    this.el = container;
    this.opts = opts;
    this.cx = 0.5;
    this.cy = 0.38;
    this.zoom = 2;
    this.devices = [];
    this.byId = new Map();
    this.lines = [];
    this.points = [];
    this.targets = [];
    this.selected = null;
    this.tiles = new Map();
    this.stats = { frames: 0, drawMs: 0, maxDrawMs: 0 };
    this.canvas = document.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.canvas.className = 'map-canvas';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', `${opts.label || 'Map'}. Arrow keys pan, + and − zoom.`);
    const zoomIn = button('+', 'Zoom in', () => this.zoomBy(1));
    const zoomOut = button('−', 'Zoom out', () => this.zoomBy(-1));
    const credit = document.createElement('div');
    credit.className = 'map-credit';
    credit.textContent = ['Natural Earth', opts.settings?.tiles ? opts.settings.attribution : '']
      .filter(Boolean).join(' · ');
    const ctl = document.createElement('div');
    ctl.className = 'map-zoom';
    ctl.append(zoomIn, zoomOut);
    container.classList.add('map');
    container.append(this.canvas, ctl, credit);
    this.ctx = this.canvas.getContext('2d');
    this.bindInput();
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
    basemapLoad ??= loadBasemap(`${opts.base}/world-50m.json`);
    basemapLoad.then((b) => { this.basemap = b; this.redraw(); }).catch(() => {});
  }

  get W() { return 256 * 2 ** this.zoom; }

  resize() {
    const r = this.el.getBoundingClientRect();
    this.w = Math.max(1, Math.round(r.width));
    this.h = Math.max(1, Math.round(r.height));
    this.dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.w * this.dpr);
    this.canvas.height = Math.round(this.h * this.dpr);
    this.redraw();
  }

  /** Screen position (CSS px) of unit coordinates. */
  toScreen(x, y) {
    const W = this.W;
    return [(x - this.cx) * W + this.w / 2, (y - this.cy) * W + this.h / 2];
  }

  /** lon/lat of a screen position. */
  toLonLat(sx, sy) {
    const W = this.W;
    return unproject(this.cx + (sx - this.w / 2) / W, this.cy + (sy - this.h / 2) / W);
  }

  setView(lon, lat, zoom) {
    [this.cx, this.cy] = project(lon, lat);
    this.zoom = clamp(zoom, MIN_ZOOM, MAX_ZOOM);
    this.redraw();
  }

  /** Fits lon/lat pairs into view (with a margin in px). */
  fit(lonlats, margin = 40, maxZoom = 16) {
    if (!lonlats.length) return;
    let [x0, y0, x1, y1] = [1, 1, 0, 0];
    for (const [lon, lat] of lonlats) {
      const [x, y] = project(lon, lat);
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    const dx = Math.max(x1 - x0, 1e-6);
    const dy = Math.max(y1 - y0, 1e-6);
    const zx = Math.log2(Math.max(1, this.w - 2 * margin) / (256 * dx));
    const zy = Math.log2(Math.max(1, this.h - 2 * margin) / (256 * dy));
    this.cx = (x0 + x1) / 2;
    this.cy = (y0 + y1) / 2;
    this.zoom = clamp(Math.min(zx, zy, maxZoom), MIN_ZOOM, MAX_ZOOM);
    this.redraw();
  }

  zoomBy(d, sx = this.w / 2, sy = this.h / 2) {
    const W0 = this.W;
    const wx = this.cx + (sx - this.w / 2) / W0;
    const wy = this.cy + (sy - this.h / 2) / W0;
    this.zoom = clamp(this.zoom + d, MIN_ZOOM, MAX_ZOOM);
    const W1 = this.W;
    this.cx = wx - (sx - this.w / 2) / W1;
    this.cy = wy - (sy - this.h / 2) / W1;
    this.redraw();
  }

  panBy(dx, dy) {
    this.cx -= dx / this.W;
    this.cy = clamp(this.cy - dy / this.W, 0, 1);
    this.redraw();
  }

  /** Devices: [{id, lon, lat, state: moving|stopped|offline|exception, course}]. */
  setDevices(list) {
    this.devices = list.map((d) => {
      const [x, y] = project(d.lon, d.lat);
      return { ...d, x, y };
    });
    this.byId = new Map(this.devices.map((d) => [d.id, d]));
    this.redraw();
  }

  /** Lines: [{coords: [[lon, lat], ...], color, width, dash}]. */
  setLines(lines) {
    this.lines = lines.map((l) => ({ ...l, pts: l.coords.map(([lon, lat]) => project(lon, lat)) }));
    this.redraw();
  }

  /** Points: [{id, lon, lat, color, label, shape: 'stop'|'vehicle', course}]. */
  setPoints(points) {
    this.points = points.map((p) => {
      const [x, y] = project(p.lon, p.lat);
      return { ...p, x, y };
    });
    this.redraw();
  }

  select(id) {
    this.selected = id;
    this.redraw();
  }

  /** Where device `id` was drawn last: {x, y, cluster} in CSS px of the canvas, or null. */
  screenOf(id) {
    const d = this.byId.get(id);
    if (!d) return null;
    for (const t of this.targets) {
      if (t.kind === 'device' && t.id === id) return { x: t.x, y: t.y, cluster: false };
      if (t.kind === 'cluster' && t.ids.includes(id)) return { x: t.x, y: t.y, cluster: true };
    }
    return null;
  }

  redraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      const t0 = performance.now();
      this.draw();
      const dt = performance.now() - t0;
      this.stats.frames += 1;
      this.stats.drawMs += dt;
      this.stats.maxDrawMs = Math.max(this.stats.maxDrawMs, dt);
    });
  }

  draw() {
    const { ctx, dpr, w, h } = this;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = COLORS.sea;
    ctx.fillRect(0, 0, w, h);
    this.drawBasemap();
    if (this.opts.settings?.tiles) this.drawTiles();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    this.targets = [];
    this.drawLines();
    this.drawPoints();
    this.drawDevices();
  }

  drawBasemap() {
    if (!this.basemap) return;
    const { ctx, dpr } = this;
    const W = this.W;
    for (const k of [-1, 0, 1]) {
      const ox = (k - this.cx) * W + this.w / 2;
      if (ox > this.w || ox + W < 0) continue;
      ctx.setTransform(dpr * W, 0, 0, dpr * W, dpr * ox, dpr * ((0 - this.cy) * W + this.h / 2));
      ctx.fillStyle = COLORS.land;
      ctx.fill(this.basemap.land, 'evenodd');
      ctx.strokeStyle = COLORS.border;
      ctx.lineWidth = 0.8 / W;
      ctx.stroke(this.basemap.borders);
    }
  }

  drawTiles() {
    const { ctx, dpr } = this;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const z = clamp(Math.round(this.zoom), 0, MAX_ZOOM);
    const n = 2 ** z;
    const size = this.W / n;
    const [ox, oy] = this.toScreen(0, 0);
    const tx0 = Math.floor(-ox / size);
    const tx1 = Math.floor((this.w - ox) / size);
    const ty0 = Math.max(0, Math.floor(-oy / size));
    const ty1 = Math.min(n - 1, Math.floor((this.h - oy) / size));
    for (let ty = ty0; ty <= ty1; ty++) {
      for (let tx = tx0; tx <= tx1; tx++) {
        const img = this.tile(z, ((tx % n) + n) % n, ty);
        if (img.complete && img.naturalWidth) {
          ctx.drawImage(img, ox + tx * size, oy + ty * size, size + 0.5, size + 0.5);
        }
      }
    }
  }

  tile(z, x, y) {
    const key = `${z}/${x}/${y}`;
    let img = this.tiles.get(key);
    if (img) {
      this.tiles.delete(key);
      this.tiles.set(key, img);
      return img;
    }
    img = new Image();
    img.referrerPolicy = 'no-referrer';
    img.onload = () => this.redraw();
    img.src = this.opts.settings.tiles.replace('{z}', z).replace('{x}', x).replace('{y}', y);
    this.tiles.set(key, img);
    if (this.tiles.size > TILE_CACHE) this.tiles.delete(this.tiles.keys().next().value);
    return img;
  }

  drawLines() {
    const { ctx } = this;
    for (const l of this.lines) {
      if (l.pts.length < 2) continue;
      ctx.beginPath();
      l.pts.forEach(([x, y], i) => {
        const [sx, sy] = this.toScreen(x, y);
        if (i === 0) ctx.moveTo(sx, sy); else ctx.lineTo(sx, sy);
      });
      ctx.setLineDash(l.dash || []);
      ctx.lineWidth = l.width || 3;
      ctx.lineJoin = 'round';
      ctx.lineCap = 'round';
      ctx.strokeStyle = l.halo || 'rgba(255,255,255,0.85)';
      ctx.lineWidth = (l.width || 3) + 3;
      ctx.stroke();
      ctx.strokeStyle = l.color || COLORS.route;
      ctx.lineWidth = l.width || 3;
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  drawPoints() {
    const { ctx } = this;
    for (const p of this.points) {
      const [sx, sy] = this.toScreen(p.x, p.y);
      if (sx < -20 || sy < -20 || sx > this.w + 20 || sy > this.h + 20) continue;
      if (p.shape === 'vehicle') {
        drawMarker(ctx, sx, sy, 'moving', p.course, 1.4);
      } else {
        ctx.beginPath();
        ctx.arc(sx, sy, 10, 0, 2 * Math.PI);
        ctx.fillStyle = p.color || COLORS.route;
        ctx.fill();
        ctx.lineWidth = 2;
        ctx.strokeStyle = '#fff';
        ctx.stroke();
        if (p.label) {
          ctx.fillStyle = '#fff';
          ctx.font = 'bold 11px system-ui, sans-serif';
          ctx.textAlign = 'center';
          ctx.textBaseline = 'middle';
          ctx.fillText(p.label, sx, sy + 0.5);
        }
      }
      this.targets.push({ kind: 'point', id: p.id, x: sx, y: sy, r: 12 });
    }
  }

  /** Grid clustering in screen space: O(devices) per frame. */
  drawDevices() {
    const { ctx } = this;
    const visible = [];
    const margin = CELL;
    for (const d of this.devices) {
      const [sx, sy] = this.toScreen(d.x, d.y);
      if (sx < -margin || sy < -margin || sx > this.w + margin || sy > this.h + margin) continue;
      visible.push([d, sx, sy]);
    }
    const cluster = this.zoom < CLUSTER_UNTIL || visible.length > MAX_SINGLE;
    let singles = visible;
    const groups = [];
    if (cluster) {
      const cells = new Map();
      for (const v of visible) {
        const key = Math.floor(v[1] / CELL) * 100003 + Math.floor(v[2] / CELL);
        let c = cells.get(key);
        if (!c) { c = []; cells.set(key, c); }
        c.push(v);
      }
      singles = [];
      for (const c of cells.values()) {
        if (c.length === 1) singles.push(c[0]);
        else groups.push(c);
      }
    }
    for (const [d, sx, sy] of singles) {
      drawMarker(ctx, sx, sy, d.state, d.course, 1);
      if (d.id === this.selected) {
        ctx.beginPath();
        ctx.arc(sx, sy, 12, 0, 2 * Math.PI);
        ctx.lineWidth = 2.5;
        ctx.strokeStyle = '#111';
        ctx.stroke();
      }
      this.targets.push({ kind: 'device', id: d.id, x: sx, y: sy, r: 10 });
    }
    for (const g of groups) {
      let x = 0;
      let y = 0;
      let exc = 0;
      for (const [d, sx, sy] of g) {
        x += sx; y += sy;
        if (d.state === 'exception') exc += 1;
      }
      x /= g.length;
      y /= g.length;
      const r = 12 + Math.min(14, 3 * Math.log2(g.length));
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = 'rgba(31,45,61,0.88)';
      ctx.fill();
      ctx.lineWidth = exc ? 4 : 2;
      ctx.strokeStyle = exc ? COLORS.exception : '#fff';
      ctx.stroke();
      ctx.fillStyle = '#fff';
      ctx.font = 'bold 12px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(String(g.length), x, y + 0.5);
      if (exc) drawMarker(ctx, x + r * 0.8, y - r * 0.8, 'exception', 0, 0.8);
      this.targets.push({ kind: 'cluster', ids: g.map((v) => v[0].id), x, y, r });
    }
    this.canvas.dataset.markers = String(singles.length);
    this.canvas.dataset.clusters = String(groups.length);
  }

  /** The topmost target at a screen position. */
  hit(sx, sy) {
    for (let i = this.targets.length - 1; i >= 0; i--) {
      const t = this.targets[i];
      if ((t.x - sx) ** 2 + (t.y - sy) ** 2 <= (t.r + 4) ** 2) return t;
    }
    return null;
  }

  bindInput() {
    const c = this.canvas;
    let drag = null;
    c.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, y: e.clientY, moved: false };
      c.setPointerCapture(e.pointerId);
    });
    c.addEventListener('pointermove', (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      drag.moved = true;
      drag.x = e.clientX;
      drag.y = e.clientY;
      this.panBy(dx, dy);
    });
    c.addEventListener('pointerup', (e) => {
      const wasDrag = drag?.moved;
      drag = null;
      if (wasDrag) return;
      const r = c.getBoundingClientRect();
      this.click(e.clientX - r.left, e.clientY - r.top);
    });
    c.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoomBy(-Math.sign(e.deltaY) * 0.5, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    c.addEventListener('keydown', (e) => {
      const step = 80;
      const keys = {
        ArrowLeft: () => this.panBy(step, 0),
        ArrowRight: () => this.panBy(-step, 0),
        ArrowUp: () => this.panBy(0, step),
        ArrowDown: () => this.panBy(0, -step),
        '+': () => this.zoomBy(1),
        '=': () => this.zoomBy(1),
        '-': () => this.zoomBy(-1),
        Enter: () => this.click(this.w / 2, this.h / 2),
      };
      if (keys[e.key]) { keys[e.key](); e.preventDefault(); }
    });
  }

  click(sx, sy) {
    const t = this.hit(sx, sy);
    if (t && t.kind === 'cluster') {
      this.zoomBy(2, t.x, t.y);
      return;
    }
    this.opts.onSelect?.(t);
  }
}

function clamp(v, a, b) { return Math.max(a, Math.min(b, v)); }

function button(text, label, fn) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.title = label;
  b.addEventListener('click', fn);
  return b;
}

/** One device marker; the shape carries the state as much as the colour. */
export function drawMarker(ctx, x, y, state, course, scale) {
  const s = scale || 1;
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = '#fff';
  ctx.beginPath();
  if (state === 'exception') {
    const r = 9 * s;
    ctx.moveTo(x, y - r);
    ctx.lineTo(x + r * 0.95, y + r * 0.7);
    ctx.lineTo(x - r * 0.95, y + r * 0.7);
    ctx.closePath();
    ctx.fillStyle = COLORS.exception;
    ctx.fill();
    ctx.stroke();
    ctx.fillStyle = '#fff';
    ctx.fillRect(x - 1 * s, y - 4 * s, 2 * s, 5 * s);
    ctx.fillRect(x - 1 * s, y + 2.5 * s, 2 * s, 2 * s);
  } else if (state === 'stopped') {
    const r = 5.5 * s;
    ctx.rect(x - r, y - r, 2 * r, 2 * r);
    ctx.fillStyle = COLORS.stopped;
    ctx.fill();
    ctx.strokeStyle = '#5a3d00';
    ctx.stroke();
  } else if (state === 'offline') {
    ctx.arc(x, y, 5.5 * s, 0, 2 * Math.PI);
    ctx.fillStyle = '#fff';
    ctx.fill();
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = COLORS.offline;
    ctx.stroke();
  } else {
    ctx.arc(x, y, 6.5 * s, 0, 2 * Math.PI);
    ctx.fillStyle = COLORS.moving;
    ctx.fill();
    ctx.stroke();
    const a = ((course || 0) - 90) * Math.PI / 180;
    ctx.beginPath();
    ctx.moveTo(x + Math.cos(a) * 6.5 * s, y + Math.sin(a) * 6.5 * s);
    ctx.lineTo(x + Math.cos(a) * 12 * s, y + Math.sin(a) * 12 * s);
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = COLORS.moving;
    ctx.stroke();
  }
}
