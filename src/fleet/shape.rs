//! The exact test of one geofence: how deep a point is inside it, in metres.
//!
//! Hysteresis needs more than inside/outside: a fix counts as "in" only some metres inside the
//! boundary and as "out" some metres beyond it, so GPS noise along the boundary changes
//! nothing. [`Shape::depth_m`] gives that signed distance (+ inside, − outside): for a circle
//! from the haversine distance to the centre; for polygons the side comes from `geo`'s
//! point-in-polygon and the distance from the nearest ring segment in a local flat projection
//! around the point (exact enough at the tens of metres that matter here).
//!
//! Limits: polygons are taken literally in longitude, so one that crosses the antimeridian
//! must be split in two (as RFC 7946 asks); a circle whose box crosses it gets a box of all
//! longitudes (still correct, only less selective).

use super::geofence::{Area, Circle, Ring};
use geo::{Distance, Haversine, Intersects, LineString, MultiPolygon, Point, Polygon};

/// Metres per degree of latitude (mean Earth radius 6 371 008.8 m).
pub const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// A bounding box in degrees: `[min_lon, min_lat]`, `[max_lon, max_lat]`.
pub type BBox = ([f64; 2], [f64; 2]);

/// A geofence's geometry, prepared for repeated tests.
#[derive(Clone, Debug)]
pub enum Shape {
    Circle(Circle),
    Polygons {
        geo: MultiPolygon<f64>,
        rings: Vec<Ring>,
    },
}

impl Shape {
    /// Prepares `area`.
    pub fn of(area: &Area) -> Shape {
        let polys: Vec<&Vec<Ring>> = match area {
            Area::Circle(c) => return Shape::Circle(*c),
            Area::Polygon(p) => vec![p],
            Area::MultiPolygon(m) => m.iter().collect(),
        };
        let ls = |r: &Ring| LineString::from(r.iter().map(|&[x, y]| (x, y)).collect::<Vec<_>>());
        let geo = MultiPolygon(
            polys
                .iter()
                .map(|p| Polygon::new(ls(&p[0]), p[1..].iter().map(ls).collect()))
                .collect(),
        );
        let rings = polys.into_iter().flatten().cloned().collect();
        Shape::Polygons { geo, rings }
    }

    /// The box that holds the whole shape.
    pub fn bbox(&self) -> BBox {
        match self {
            Shape::Circle(c) => around(c.lat, c.lon, c.radius_m),
            Shape::Polygons { rings, .. } => {
                let mut lo = [f64::INFINITY; 2];
                let mut hi = [f64::NEG_INFINITY; 2];
                for p in rings.iter().flatten() {
                    for k in 0..2 {
                        lo[k] = lo[k].min(p[k]);
                        hi[k] = hi[k].max(p[k]);
                    }
                }
                (lo, hi)
            }
        }
    }

    /// The shorter side of the box, metres: a geofence narrower than twice the entry depth
    /// could never be entered, so the detector caps the depth by it.
    pub fn min_extent_m(&self) -> f64 {
        match self {
            Shape::Circle(c) => 2.0 * c.radius_m,
            Shape::Polygons { .. } => {
                let (lo, hi) = self.bbox();
                let mid = ((lo[1] + hi[1]) / 2.0).to_radians().cos().max(0.0);
                ((hi[1] - lo[1]) * M_PER_DEG).min((hi[0] - lo[0]) * M_PER_DEG * mid)
            }
        }
    }

    /// Signed distance of `(lat, lon)` from the boundary, metres: positive inside.
    pub fn depth_m(&self, lat: f64, lon: f64) -> f64 {
        match self {
            Shape::Circle(c) => {
                c.radius_m - Haversine.distance(Point::new(c.lon, c.lat), Point::new(lon, lat))
            }
            Shape::Polygons { geo, rings } => {
                let kx = M_PER_DEG * lat.to_radians().cos();
                let mut best = f64::INFINITY;
                for r in rings {
                    for w in r.windows(2) {
                        let a = ((w[0][0] - lon) * kx, (w[0][1] - lat) * M_PER_DEG);
                        let b = ((w[1][0] - lon) * kx, (w[1][1] - lat) * M_PER_DEG);
                        best = best.min(origin_to_segment(a, b));
                    }
                }
                if geo.intersects(&Point::new(lon, lat)) {
                    best
                } else {
                    -best
                }
            }
        }
    }
}

/// The box of everything within `m` metres of `(lat, lon)` on the sphere; all longitudes
/// near a pole or across the antimeridian. The longitude half-width is
/// `asin(sin(d) / cos(lat))` for the angular distance `d`: a circle is widest in longitude
/// poleward of its centre, so `d / cos(lat)` would cut off the edges of a large one.
pub fn around(lat: f64, lon: f64, m: f64) -> BBox {
    let dlat = m / M_PER_DEG;
    let (lat0, lat1) = ((lat - dlat).max(-90.0), (lat + dlat).min(90.0));
    let ratio = dlat.to_radians().sin() / lat.to_radians().cos();
    let dlon = if dlat < 90.0 && ratio.is_finite() && ratio < 1.0 {
        ratio.asin().to_degrees()
    } else {
        360.0
    };
    let (lon0, lon1) = (lon - dlon, lon + dlon);
    if lon0 < -180.0 || lon1 > 180.0 || lat0 <= -90.0 || lat1 >= 90.0 {
        ([-180.0, lat0], [180.0, lat1])
    } else {
        ([lon0, lat0], [lon1, lat1])
    }
}

/// Distance from (0, 0) to segment a–b in the plane.
fn origin_to_segment(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (-(a.0 * dx + a.1 * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    (x * x + y * y).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Destination;

    /// A 1 km square with its south-west corner at (52, 13), with a 200 m hole in the middle.
    fn square_with_hole() -> Shape {
        let dlat = 1000.0 / M_PER_DEG;
        let dlon = 1000.0 / (M_PER_DEG * 52f64.to_radians().cos());
        let sq = |x0: f64, y0: f64, sx: f64, sy: f64| {
            vec![
                [x0, y0],
                [x0 + sx, y0],
                [x0 + sx, y0 + sy],
                [x0, y0 + sy],
                [x0, y0],
            ]
        };
        Shape::of(&Area::Polygon(vec![
            sq(13.0, 52.0, dlon, dlat),
            sq(13.0 + 0.4 * dlon, 52.0 + 0.4 * dlat, 0.2 * dlon, 0.2 * dlat),
        ]))
    }

    fn east(m: f64) -> f64 {
        13.0 + m / (M_PER_DEG * 52f64.to_radians().cos())
    }
    fn north(m: f64) -> f64 {
        52.0 + m / M_PER_DEG
    }

    #[test]
    fn polygon_depth_is_signed_metres_to_the_nearest_edge_holes_included() {
        let s = square_with_hole();
        let near = |got: f64, want: f64| assert!((got - want).abs() < 0.5, "{got} vs {want}");
        near(s.depth_m(north(100.0), east(300.0)), 100.0); // 100 m in from the south edge
        near(s.depth_m(north(-40.0), east(300.0)), -40.0); // 40 m south of it
        near(s.depth_m(north(500.0), east(500.0)), -100.0); // centre of the 200 m hole
        near(s.depth_m(north(350.0), east(500.0)), 50.0); // 50 m south of the hole
        near(s.depth_m(north(-30.0), east(-40.0)), -50.0); // off the corner: 30-40-50
        assert!((s.min_extent_m() - 1000.0).abs() < 1.0);
    }

    #[test]
    fn circle_depth_and_box() {
        let s = Shape::of(&Area::Circle(Circle {
            lat: 52.0,
            lon: 13.0,
            radius_m: 100.0,
        }));
        assert!((s.depth_m(north(30.0), 13.0) - 70.0).abs() < 0.1);
        assert!((s.depth_m(north(130.0), 13.0) + 30.0).abs() < 0.1);
        let (lo, hi) = s.bbox();
        assert!(lo[1] < north(-99.9) && hi[1] > north(99.9));
        assert!(lo[0] < east(-99.9) && hi[0] > east(99.9) && hi[0] < east(101.0));
        // Across the antimeridian: every longitude.
        assert_eq!(around(0.0, 179.9999, 100.0).0[0], -180.0);
        // A 1000 km circle at 60° N: every point on its edge is inside its box (the edge is
        // widest in longitude north of the centre).
        let big = Shape::of(&Area::Circle(Circle {
            lat: 60.0,
            lon: 10.0,
            radius_m: 1_000_000.0,
        }));
        let (lo, hi) = big.bbox();
        for k in 0..3600 {
            let b = (k as f64 / 10.0).to_radians();
            let p = geo::Haversine.destination(Point::new(10.0, 60.0), b.to_degrees(), 1_000_000.0);
            assert!(
                p.x() <= hi[0] + 1e-9 && p.x() >= lo[0] - 1e-9,
                "bearing {b}: {p:?}"
            );
            assert!(
                p.y() <= hi[1] + 1e-9 && p.y() >= lo[1] - 1e-9,
                "bearing {b}: {p:?}"
            );
        }
    }
}
