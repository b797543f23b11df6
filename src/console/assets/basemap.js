// The offline world basemap: Natural Earth 1:50m countries (public domain) as TopoJSON
// from the `world-atlas` npm package (vendored, ISC, see LICENSE-world-atlas.txt), decoded
// here into two Path2D objects in Web Mercator unit coordinates (0..1): land to fill and
// the borders between countries to stroke. No library: TopoJSON arcs are delta-encoded
// integers, and a border is an arc shared by two countries.

const MAX_LAT = 85.05112878;

/** Web Mercator of lon/lat in unit coordinates: x, y in 0..1 (y down). */
export function project(lon, lat) {
  const la = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI / 180;
  return [
    (lon + 180) / 360,
    (1 - Math.log(Math.tan(la) + 1 / Math.cos(la)) / Math.PI) / 2,
  ];
}

/** Inverse of `project`. */
export function unproject(x, y) {
  const lon = x * 360 - 180;
  const n = Math.PI - 2 * Math.PI * y;
  return [lon, (180 / Math.PI) * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n)))];
}

function decodeArcs(topo) {
  const [sx, sy] = topo.transform ? topo.transform.scale : [1, 1];
  const [tx, ty] = topo.transform ? topo.transform.translate : [0, 0];
  return topo.arcs.map((arc) => {
    let x = 0;
    let y = 0;
    const out = new Float64Array(arc.length * 2);
    arc.forEach((p, i) => {
      x += p[0];
      y += p[1];
      const [ux, uy] = project(x * sx + tx, y * sy + ty);
      out[2 * i] = ux;
      out[2 * i + 1] = uy;
    });
    return out;
  });
}

function ringsOf(geom) {
  if (geom.type === 'Polygon') return geom.arcs;
  if (geom.type === 'MultiPolygon') return geom.arcs.flat();
  return [];
}

function addRing(path, arcs, ring) {
  let first = true;
  for (const idx of ring) {
    const a = arcs[idx < 0 ? ~idx : idx];
    const n = a.length / 2;
    for (let k = 0; k < n; k++) {
      const j = idx < 0 ? n - 1 - k : k;
      if (first) { path.moveTo(a[2 * j], a[2 * j + 1]); first = false; }
      else path.lineTo(a[2 * j], a[2 * j + 1]);
    }
  }
  path.closePath();
}

/** Loads the basemap: `{land: Path2D, borders: Path2D}` in unit coordinates. */
export async function loadBasemap(url) {
  const topo = await (await fetch(url)).json();
  const arcs = decodeArcs(topo);
  const land = new Path2D();
  for (const g of topo.objects.land.geometries || [topo.objects.land]) {
    for (const ring of ringsOf(g)) addRing(land, arcs, ring);
  }
  const uses = new Map();
  for (const g of topo.objects.countries.geometries) {
    const seen = new Set();
    for (const ring of ringsOf(g)) {
      for (const idx of ring) seen.add(idx < 0 ? ~idx : idx);
    }
    for (const i of seen) uses.set(i, (uses.get(i) || 0) + 1);
  }
  const borders = new Path2D();
  for (const [i, n] of uses) {
    if (n < 2) continue;
    const a = arcs[i];
    borders.moveTo(a[0], a[1]);
    for (let k = 2; k < a.length; k += 2) borders.lineTo(a[k], a[k + 1]);
  }
  return { land, borders };
}
