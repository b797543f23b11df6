//! `[console]`: the ops web page and the customer tracking links.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Longest attribution text accepted, characters (it is shown on every map).
pub const MAX_ATTRIBUTION: usize = 300;

/// `[console]`
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Serve the ops console at `GET /` and the customer pages at `/track/…`. Default true.
    /// The API answers either way.
    pub enabled: bool,
    /// Optional raster tile URL drawn under the built-in world basemap, with `{z}`, `{x}`
    /// and `{y}` placeholders (`"https://tiles.example.com/{z}/{x}/{y}.png"`). Default none:
    /// the page needs no internet, only the basemap embedded in the binary (Natural Earth
    /// 1:50m countries). The tile host is added to the page's Content-Security-Policy.
    pub tiles: Option<String>,
    /// Attribution shown on the map for `tiles` (required by most tile providers).
    /// Default `""`; the embedded basemap's own credit ("Natural Earth") is always shown.
    pub attribution: String,
    /// Default lifetime of a customer tracking link (`POST /api/shipments/{id}/share`
    /// without `expires_in`): `"7d"`, `"12h"`, or seconds. Default `"7d"`.
    #[serde(with = "crate::duration_text")]
    pub share_ttl: Duration,
    /// Longest lifetime a link may be given. Default `"90d"`.
    #[serde(with = "crate::duration_text")]
    pub share_max_ttl: Duration,
    /// Shipments whose ETA history and vehicle trail are kept in memory for the shipment
    /// view (the least recently updated is forgotten first). Default 2000.
    pub history_shipments: usize,
    /// ETA samples kept per stop (older ones are thinned to every other one when full, so
    /// the chart keeps the whole trip at a coarser step). Default 240.
    pub history_points: usize,
    /// Trail points kept per vehicle (thinned the same way). Default 2000.
    pub trail_points: usize,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: true,
            tiles: None,
            attribution: String::new(),
            share_ttl: Duration::from_secs(7 * 86_400),
            share_max_ttl: Duration::from_secs(90 * 86_400),
            history_shipments: 2000,
            history_points: 240,
            trail_points: 2000,
        }
    }
}

impl ConsoleConfig {
    /// Checks what serde cannot, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = &self.tiles {
            tile_origin(t)?;
        }
        if self.attribution.chars().count() > MAX_ATTRIBUTION {
            return Err(format!(
                "console.attribution: longer than {MAX_ATTRIBUTION} characters"
            ));
        }
        if self.share_ttl.is_zero() || self.share_ttl > self.share_max_ttl {
            return Err(format!(
                "console.share_ttl = {:?}: must be positive and at most console.share_max_ttl = {:?}",
                self.share_ttl, self.share_max_ttl
            ));
        }
        for (key, v, min, max) in [
            ("history_shipments", self.history_shipments, 1, 1_000_000),
            ("history_points", self.history_points, 16, 100_000),
            ("trail_points", self.trail_points, 16, 1_000_000),
        ] {
            if !(min..=max).contains(&v) {
                return Err(format!("console.{key} = {v}: must be within {min}..={max}"));
            }
        }
        Ok(())
    }

    /// The origin (`scheme://host[:port]`) of the tile URL, for the Content-Security-Policy.
    pub fn tile_origin(&self) -> Option<String> {
        self.tiles.as_deref().and_then(|t| tile_origin(t).ok())
    }
}

/// The origin of a tile URL template; an error names what is wrong with it.
fn tile_origin(t: &str) -> Result<String, String> {
    for p in ["{z}", "{x}", "{y}"] {
        if !t.contains(p) {
            return Err(format!("console.tiles = {t:?}: has no {p} placeholder"));
        }
    }
    let u = url::Url::parse(&t.replace(['{', '}'], ""))
        .map_err(|e| format!("console.tiles = {t:?}: not a URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(format!(
            "console.tiles = {t:?}: must be an http:// or https:// URL with a host"
        ));
    }
    Ok(u.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_the_key() {
        assert_eq!(ConsoleConfig::default().validate(), Ok(()));
        let tiles = |t: &str| ConsoleConfig {
            tiles: Some(t.into()),
            ..ConsoleConfig::default()
        };
        let ok = tiles("https://tiles.example.com:8443/osm/{z}/{x}/{y}.png");
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(
            ok.tile_origin().as_deref(),
            Some("https://tiles.example.com:8443")
        );
        let e = tiles("https://t.example.com/{z}/{x}.png")
            .validate()
            .unwrap_err();
        assert!(e.contains("console.tiles") && e.contains("{y}"), "{e}");
        let e = tiles("file:///{z}/{x}/{y}").validate().unwrap_err();
        assert!(e.contains("http"), "{e}");
        let e = ConsoleConfig {
            trail_points: 3,
            ..ConsoleConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.starts_with("console.trail_points = 3"), "{e}");
        let e = ConsoleConfig {
            share_ttl: Duration::from_secs(100 * 86_400),
            ..ConsoleConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.starts_with("console.share_ttl"), "{e}");
    }
}
