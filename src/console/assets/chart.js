// The ETA-over-time chart of one stop: the P50 line, the P10–P90 band and the planned
// arrival, against the fix time of each estimate, so a planner sees the slip happen.
// Plain SVG; the description says in words what the lines show.

import { local } from './fmt.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 240;
const PAD = { l: 58, r: 16, t: 14, b: 30 };

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function ticks(a, b, n) {
  const step = Math.max(60000, niceStep((b - a) / n));
  const out = [];
  for (let t = Math.ceil(a / step) * step; t <= b; t += step) out.push(t);
  return out;
}

function niceStep(raw) {
  const mins = [1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 720, 1440].map((m) => m * 60000);
  return mins.find((m) => m >= raw) || raw;
}

/**
 * @param samples [[fix_ms, eta_ms, p10_ms, p90_ms], ...] oldest first
 * @param planned planned arrival, ms
 * @param name stop name
 */
export function etaChart(samples, planned, name) {
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title chart-desc' });
  svg.append(el('title', { id: 'chart-title' }, `ETA of ${name} over time`));
  const desc = el('desc', { id: 'chart-desc' });
  svg.append(desc);
  if (!samples.length) {
    desc.textContent = 'No estimates yet.';
    svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'chart-empty' }, 'No estimates yet'));
    return svg;
  }
  let x0 = samples[0][0];
  let x1 = samples[samples.length - 1][0];
  if (x1 - x0 < 600000) { x1 = x0 + 600000; }
  let y0 = Math.min(planned, ...samples.map((s) => s[2]));
  let y1 = Math.max(planned, ...samples.map((s) => s[3]));
  const pad = Math.max(120000, (y1 - y0) * 0.08);
  y0 -= pad;
  y1 += pad;
  const sx = (t) => PAD.l + ((t - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const sy = (t) => H - PAD.b - ((t - y0) / (y1 - y0)) * (H - PAD.t - PAD.b);
  const grid = el('g', { class: 'chart-grid' });
  for (const t of ticks(y0, y1, 5)) {
    grid.append(el('line', { x1: PAD.l, x2: W - PAD.r, y1: sy(t), y2: sy(t) }));
    grid.append(el('text', { x: PAD.l - 6, y: sy(t) + 4, 'text-anchor': 'end' }, local(t)));
  }
  for (const t of ticks(x0, x1, 6)) {
    grid.append(el('text', { x: sx(t), y: H - 10, 'text-anchor': 'middle' }, local(t)));
  }
  svg.append(grid);
  const top = samples.map((s) => `${sx(s[0])},${sy(s[3])}`);
  const bottom = samples.slice().reverse().map((s) => `${sx(s[0])},${sy(s[2])}`);
  svg.append(el('polygon', { points: [...top, ...bottom].join(' '), class: 'chart-band' }));
  svg.append(el('line', { x1: PAD.l, x2: W - PAD.r, y1: sy(planned), y2: sy(planned), class: 'chart-planned' }));
  svg.append(el('text', { x: W - PAD.r - 4, y: sy(planned) - 5, 'text-anchor': 'end', class: 'chart-label' }, `Planned ${local(planned)}`));
  svg.append(el('polyline', { points: samples.map((s) => `${sx(s[0])},${sy(s[1])}`).join(' '), class: 'chart-eta' }));
  for (const s of samples.length <= 60 ? samples : [samples[samples.length - 1]]) {
    svg.append(el('circle', { cx: sx(s[0]), cy: sy(s[1]), r: 2.5, class: 'chart-dot' }));
  }
  const first = samples[0];
  const last = samples[samples.length - 1];
  const slip = Math.round((last[1] - planned) / 60000);
  desc.textContent = `The estimate moved from ${local(first[1])} to ${local(last[1])} `
    + `(band ${local(last[2])}–${local(last[3])}); planned ${local(planned)}, `
    + `${slip > 0 ? `${slip} min late` : slip < 0 ? `${-slip} min early` : 'on time'}.`;
  return svg;
}
