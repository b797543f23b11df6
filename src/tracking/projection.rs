//! The planned route as a measured polyline, and projection of fixes onto it inside a
//! forward window, so routes that loop or run over themselves never make progress jump.
//!
//! Each segment is projected in its own local equirectangular frame (metres, centred on the
//! segment start) where `geo`'s `LineLocatePoint` finds the nearest point; distances along
//! and across are then haversine distances. Per-segment frames keep the error small on long
//! routes, where one frame for the whole route would distort.

use geo::{Distance, Haversine, InterpolatePoint, Line, LineLocatePoint, Point};

/// Metres per degree of latitude on the mean sphere (the local frame's scale).
const M_PER_DEG: f64 = 111_195.0;

/// Where a fix lands on the route.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Projection {
    /// Distance along the route from its start, metres.
    pub along_m: f64,
    /// Distance from the fix to that point, metres.
    pub off_m: f64,
}

/// A planned route with cumulative distances.
#[derive(Clone, Debug)]
pub struct Route {
    pts: Vec<Point<f64>>,
    /// `cum[i]` = distance along the route to point `i`.
    cum: Vec<f64>,
}

/// Haversine distance between two `(lat, lon)` positions, metres.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0))
}

impl Route {
    /// Builds from GeoJSON `[lon, lat]` pairs (validated by the caller).
    pub fn new(coords: &[[f64; 2]]) -> Route {
        let pts: Vec<Point<f64>> = coords.iter().map(|c| Point::new(c[0], c[1])).collect();
        let mut cum = Vec::with_capacity(pts.len());
        let mut acc = 0.0;
        for (i, p) in pts.iter().enumerate() {
            if i > 0 {
                acc += Haversine.distance(pts[i - 1], *p);
            }
            cum.push(acc);
        }
        Route { pts, cum }
    }

    /// Total length, metres.
    pub fn length_m(&self) -> f64 {
        self.cum.last().copied().unwrap_or(0.0)
    }

    /// Projects `(lat, lon)` onto the part of the route between `lo_m` and `hi_m` along it.
    /// Among near-equal candidates (within 1 m) the one closest to `prefer_m` wins, which
    /// resolves a route crossing itself in favour of continuity.
    pub fn project(&self, lat: f64, lon: f64, lo_m: f64, hi_m: f64, prefer_m: f64) -> Projection {
        let p = Point::new(lon, lat);
        let lo = lo_m.max(0.0);
        let hi = hi_m.min(self.length_m()).max(lo);
        let mut best: Option<Projection> = None;
        for i in 0..self.pts.len().saturating_sub(1) {
            let (s0, s1) = (self.cum[i], self.cum[i + 1]);
            if s1 < lo || s0 > hi {
                continue;
            }
            let cand = self.project_segment(i, p, lo, hi);
            best = Some(match best {
                None => cand,
                Some(b) => {
                    if cand.off_m + 1.0 < b.off_m
                        || ((cand.off_m - b.off_m).abs() <= 1.0
                            && (cand.along_m - prefer_m).abs() < (b.along_m - prefer_m).abs())
                    {
                        cand
                    } else {
                        b
                    }
                }
            });
        }
        best.unwrap_or_else(|| {
            let at = self.point_at(lo);
            Projection {
                along_m: lo,
                off_m: Haversine.distance(at, p),
            }
        })
    }

    fn project_segment(&self, i: usize, p: Point<f64>, lo: f64, hi: f64) -> Projection {
        let (a, b) = (self.pts[i], self.pts[i + 1]);
        let seg_len = self.cum[i + 1] - self.cum[i];
        let k = a.y().to_radians().cos() * M_PER_DEG;
        let local = |q: Point<f64>| Point::new((q.x() - a.x()) * k, (q.y() - a.y()) * M_PER_DEG);
        let line = Line::new(local(a), local(b));
        let t = line.line_locate_point(&local(p)).unwrap_or(0.0);
        let along = (self.cum[i] + t * seg_len).clamp(lo, hi);
        let at = self.point_at(along);
        Projection {
            along_m: along,
            off_m: Haversine.distance(at, p),
        }
    }

    /// The route point `along_m` metres from the start, as a `geo` point (lon, lat).
    pub fn point_at(&self, along_m: f64) -> Point<f64> {
        let s = along_m.clamp(0.0, self.length_m());
        let i = match self.cum.partition_point(|c| *c <= s) {
            0 => 0,
            n => (n - 1).min(self.pts.len().saturating_sub(2)),
        };
        let seg = self.cum.get(i + 1).copied().unwrap_or(s) - self.cum[i];
        if seg <= 0.0 {
            return self.pts[i];
        }
        let r = ((s - self.cum[i]) / seg).clamp(0.0, 1.0);
        Haversine.point_at_ratio_between(self.pts[i], self.pts[i + 1], r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An out-and-back route: east 2 km, then back west over the same road.
    fn out_and_back() -> Route {
        Route::new(&[[13.0, 52.0], [13.029_2, 52.0], [13.0, 52.0]])
    }

    #[test]
    fn lengths_are_haversine() {
        let r = out_and_back();
        let one_way = distance_m((52.0, 13.0), (52.0, 13.0292));
        assert!((r.length_m() - 2.0 * one_way).abs() < 1e-6);
        assert!((one_way - 1998.9).abs() < 1.0, "{one_way}");
    }

    #[test]
    fn overlapping_route_keeps_the_leg_inside_the_window() {
        let r = out_and_back();
        let half = r.length_m() / 2.0;
        // A fix 500 m from the start lies on both legs (along 500 and along L-500).
        // On the way out the window covers only the first leg.
        let out = r.project(52.0, 13.0 + 0.007_31, 0.0, 1000.0, 0.0);
        assert!((out.along_m - 500.0).abs() < 2.0, "{out:?}");
        // On the way back (last along 3000) the window [2900, 3800] only holds the return.
        let back = r.project(52.0, 13.0 + 0.007_31, 2900.0, 3800.0, 3000.0);
        assert!(
            (back.along_m - (2.0 * half - 500.0)).abs() < 2.0,
            "{back:?}"
        );
        assert!(back.off_m < 1.0);
    }

    #[test]
    fn crossing_prefers_the_candidate_nearest_to_the_last_position() {
        // A figure crossing itself at (52.0, 13.01): east, north, west-south-west back over it.
        let r = Route::new(&[
            [13.0, 52.0],
            [13.02, 52.0],
            [13.02, 52.01],
            [13.01, 52.01],
            [13.01, 51.99],
        ]);
        let whole = r.length_m();
        let first = r.project(52.0, 13.01, 0.0, whole, 0.0);
        assert!((first.along_m - distance_m((52.0, 13.0), (52.0, 13.01))).abs() < 2.0);
        let later = r.project(52.0, 13.01, 0.0, whole, whole);
        assert!(later.along_m > first.along_m + 2000.0, "{later:?}");
    }

    #[test]
    fn point_at_interpolates_and_clamps() {
        let r = out_and_back();
        // Half-way along the first leg: the great-circle midpoint, a hair north of the
        // parallel (≈ 0.1 m over 2 km at 52° N).
        let p = r.point_at(r.length_m() * 0.25);
        assert!(
            (p.y() - 52.0).abs() < 2e-6 && (p.x() - 13.0146).abs() < 1e-6,
            "{p:?}"
        );
        assert_eq!(r.point_at(-5.0), Point::new(13.0, 52.0));
        assert_eq!(r.point_at(1e9), Point::new(13.0, 52.0));
    }
}
