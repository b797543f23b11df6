//! Every geofence in memory, with an R-tree (`rstar`) of their bounding boxes.
//!
//! A fix asks the tree for the boxes within the hysteresis margin of it and runs the exact
//! test ([`super::shape`]) only on those, so 10 000 geofences cost a tree descent per fix,
//! not 10 000 polygon tests. Changes through the API update the tree in place (remove the
//! old box, insert the new one).

use super::geofence::Geofence;
use super::shape::{around, Shape};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A geofence with its prepared shape.
#[derive(Debug)]
pub struct Fence {
    pub spec: Geofence,
    pub shape: Shape,
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, String>;

/// The geofences by id, and their boxes in an R-tree.
#[derive(Default)]
pub struct Index {
    fences: BTreeMap<String, Arc<Fence>>,
    tree: RTree<Entry>,
}

fn entry(f: &Fence) -> Entry {
    let (lo, hi) = f.shape.bbox();
    GeomWithData::new(Rectangle::from_corners(lo, hi), f.spec.id.clone())
}

impl Index {
    /// An index of `all` (bulk-loaded: a better tree than one insert at a time).
    pub fn of(all: Vec<Geofence>) -> Index {
        let fences: BTreeMap<String, Arc<Fence>> = all
            .into_iter()
            .map(|g| {
                let shape = Shape::of(&g.area);
                (g.id.clone(), Arc::new(Fence { spec: g, shape }))
            })
            .collect();
        let tree = RTree::bulk_load(fences.values().map(|f| entry(f)).collect());
        Index { fences, tree }
    }

    /// Adds or replaces a geofence; returns the one it replaced.
    pub fn upsert(&mut self, g: Geofence) -> Option<Arc<Fence>> {
        let old = self.remove(&g.id);
        let shape = Shape::of(&g.area);
        let f = Arc::new(Fence { spec: g, shape });
        self.tree.insert(entry(&f));
        self.fences.insert(f.spec.id.clone(), f);
        old
    }

    /// Removes a geofence; returns it.
    pub fn remove(&mut self, id: &str) -> Option<Arc<Fence>> {
        let old = self.fences.remove(id)?;
        self.tree.remove(&entry(&old));
        Some(old)
    }

    /// One geofence.
    pub fn get(&self, id: &str) -> Option<&Arc<Fence>> {
        self.fences.get(id)
    }

    /// Every geofence, by id.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Fence>> {
        self.fences.values()
    }

    /// The geofences with an id after `after` (all without a cursor), by id: a page is read
    /// without walking the ones before it.
    pub fn after<'a>(&'a self, after: Option<&str>) -> impl Iterator<Item = &'a Arc<Fence>> {
        use std::ops::Bound::{Excluded, Unbounded};
        let from = match after {
            Some(a) => Excluded(a.to_string()),
            None => Unbounded,
        };
        self.fences.range((from, Unbounded)).map(|(_, f)| f)
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.fences.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fences.is_empty()
    }

    /// The geofences whose box comes within `margin_m` of `(lat, lon)`: every geofence the
    /// point could be inside of or less than `margin_m` outside.
    pub fn near(&self, lat: f64, lon: f64, margin_m: f64) -> impl Iterator<Item = &Arc<Fence>> {
        let (lo, hi) = around(lat, lon, margin_m);
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_corners(lo, hi))
            .filter_map(|e| self.fences.get(&e.data))
    }
}

#[cfg(test)]
mod tests {
    use super::super::geofence::{Area, Circle};
    use super::super::shape::M_PER_DEG;
    use super::*;

    fn circle(id: &str, lat: f64, lon: f64, r: f64) -> Geofence {
        Geofence {
            id: id.into(),
            name: id.into(),
            area: Area::Circle(Circle {
                lat,
                lon,
                radius_m: r,
            }),
            devices: vec![],
            customer: None,
            speed_limit_kmh: None,
        }
    }

    fn ids<'a>(it: impl Iterator<Item = &'a Arc<Fence>>) -> Vec<String> {
        let mut v: Vec<String> = it.map(|f| f.spec.id.clone()).collect();
        v.sort();
        v
    }

    #[test]
    fn near_finds_exactly_the_boxes_within_the_margin_and_follows_changes() {
        // A grid of 100 m circles 0.01° apart; a point in the middle of cell (5, 5).
        let all: Vec<Geofence> = (0..20)
            .flat_map(|i| {
                (0..20).map(move |j| {
                    circle(
                        &format!("c{i}-{j}"),
                        10.0 + i as f64 * 0.01,
                        20.0 + j as f64 * 0.01,
                        100.0,
                    )
                })
            })
            .collect();
        let mut ix = Index::of(all);
        assert_eq!(ix.len(), 400);
        let (lat, lon) = (10.05, 20.05);
        assert_eq!(ids(ix.near(lat, lon, 25.0)), ["c5-5"]);
        // 150 m north of the centre: outside the circle by 50 m, inside its box + 60 m only.
        let lat2 = lat + 150.0 / M_PER_DEG;
        assert!(ids(ix.near(lat2, lon, 25.0)).is_empty());
        assert_eq!(ids(ix.near(lat2, lon, 60.0)), ["c5-5"]);
        // Brute force agrees on a sweep of points.
        for k in 0..200 {
            let (la, lo) = (10.0 + k as f64 * 0.00097, 20.0 + k as f64 * 0.00093);
            let want: Vec<String> = {
                let mut v: Vec<String> = ix
                    .all()
                    .filter(|f| {
                        let (a, b) = f.shape.bbox();
                        let (c, d) = around(la, lo, 25.0);
                        a[0] <= d[0] && c[0] <= b[0] && a[1] <= d[1] && c[1] <= b[1]
                    })
                    .map(|f| f.spec.id.clone())
                    .collect();
                v.sort();
                v
            };
            assert_eq!(ids(ix.near(la, lo, 25.0)), want, "point {k}");
        }
        // Move c5-5 away, add one at the point, delete another.
        ix.upsert(circle("c5-5", 0.0, 0.0, 10.0));
        ix.upsert(circle("new", lat, lon, 10.0));
        assert!(ix.remove("c0-0").is_some() && ix.remove("c0-0").is_none());
        assert_eq!(ids(ix.near(lat, lon, 25.0)), ["new"]);
        assert_eq!(ids(ix.near(0.0, 0.0, 1.0)), ["c5-5"]);
        assert_eq!(ix.len(), 400);
        let page = |after: Option<&str>| -> Vec<String> {
            ix.after(after).take(2).map(|f| f.spec.id.clone()).collect()
        };
        assert_eq!(page(Some("c19-18")), ["c19-19", "c19-2"]);
        assert_eq!(page(Some("c9-9")), ["new"]);
        assert_eq!(page(None), ["c0-1", "c0-10"]);
    }
}
