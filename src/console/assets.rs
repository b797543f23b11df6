//! The console's files, embedded in the binary (`include_bytes!`: no files to install, no
//! Node at run time, no CDN), each compressed once per encoding on its first request (gzip
//! and brotli; nothing at start-up, so a gateway that nobody opens the page of pays
//! nothing) and served with a strong ETag.
//!
//! Caching: the pages (`/`, `/track/…`) are `no-cache` (revalidated by ETag, so a new
//! binary's page is seen at once) and name the other files under `/console/<version>/`,
//! where `<version>` is a digest of every embedded file: those answers are `immutable` for
//! a year, and a new build changes the prefix. A request for an old prefix still gets the
//! current file, but `no-cache`.

use super::ConsoleConfig;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::{LazyLock, OnceLock};

/// One embedded file.
struct Embedded {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

macro_rules! embed {
    ($name:literal, $mime:expr) => {
        Embedded {
            name: $name,
            mime: $mime,
            body: include_bytes!(concat!("assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file served under `/console/<version>/`.
const FILES: &[Embedded] = &[
    embed!("console.css", "text/css; charset=utf-8"),
    embed!("main.js", JS),
    embed!("api.js", JS),
    embed!("fmt.js", JS),
    embed!("map.js", JS),
    embed!("basemap.js", JS),
    embed!("fleet.js", JS),
    embed!("shipments.js", JS),
    embed!("shipment.js", JS),
    embed!("chart.js", JS),
    embed!("exceptions.js", JS),
    embed!("devices.js", JS),
    embed!("track.js", JS),
    embed!("world-50m.json", "application/json"),
    embed!("LICENSE-world-atlas.txt", "text/plain; charset=utf-8"),
];

/// The page templates (rendered with the configuration by [`Pages::render`]).
const INDEX: &str = include_str!("assets/index.html");
const TRACK: &str = include_str!("assets/track.html");

/// Below this size compression is not worth a header.
const MIN_COMPRESS: usize = 512;

/// A body with its ETag and its compressed forms (made when first asked for; `None`: not
/// worth it).
pub struct Prepared {
    mime: &'static str,
    identity: Vec<u8>,
    gzip: OnceLock<Option<Vec<u8>>>,
    br: OnceLock<Option<Vec<u8>>>,
    etag: String,
}

fn gzip(b: &[u8]) -> Option<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(b).ok()?;
    e.finish().ok()
}

fn brotli(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    // Quality 6: the basemap is 3 % larger than at 9 and compresses 3.5× faster.
    let params = brotli::enc::BrotliEncoderParams {
        quality: 6,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &b[..], &mut out, &params).ok()?;
    Some(out)
}

impl Prepared {
    fn new(mime: &'static str, body: Vec<u8>) -> Prepared {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex::encode(&digest[..12]));
        Prepared {
            mime,
            identity: body,
            gzip: OnceLock::new(),
            br: OnceLock::new(),
            etag,
        }
    }

    fn encoded<'a>(
        &'a self,
        cell: &'a OnceLock<Option<Vec<u8>>>,
        f: fn(&[u8]) -> Option<Vec<u8>>,
    ) -> Option<&'a Vec<u8>> {
        cell.get_or_init(|| {
            let b = &self.identity;
            (b.len() >= MIN_COMPRESS)
                .then(|| f(b))
                .flatten()
                .filter(|z| z.len() < b.len())
        })
        .as_ref()
    }

    fn gzip(&self) -> Option<&Vec<u8>> {
        self.encoded(&self.gzip, gzip)
    }

    fn br(&self) -> Option<&Vec<u8>> {
        self.encoded(&self.br, brotli)
    }

    /// Sizes: (identity, gzip, br) bytes (for the README's size figures and tests).
    pub fn sizes(&self) -> (usize, Option<usize>, Option<usize>) {
        (
            self.identity.len(),
            self.gzip().map(Vec::len),
            self.br().map(Vec::len),
        )
    }

    /// The answer to a GET with these request headers: 304 when the ETag matches, else the
    /// best encoding the client accepts. `cache` is the `Cache-Control` value.
    pub fn respond(&self, req: &HeaderMap, cache: &'static str) -> Response {
        let mut h = HeaderMap::new();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if let Ok(v) = HeaderValue::from_str(&self.etag) {
            h.insert(header::ETAG, v);
        }
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        let matches = req
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim() == self.etag || t.trim() == "*")
            });
        if matches {
            return (StatusCode::NOT_MODIFIED, h).into_response();
        }
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.mime));
        let br = accepts(req, "br").then(|| self.br()).flatten();
        let gz = || accepts(req, "gzip").then(|| self.gzip()).flatten();
        let body = if let Some(b) = br {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            b.clone()
        } else if let Some(g) = gz() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            g.clone()
        } else {
            self.identity.clone()
        };
        (StatusCode::OK, h, body).into_response()
    }
}

/// Whether `Accept-Encoding` lists `enc` with a non-zero q-value.
fn accepts(req: &HeaderMap, enc: &str) -> bool {
    req.get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let q = parts
                .find_map(|p| p.strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            name.eq_ignore_ascii_case(enc) && q > 0.0
        })
}

/// The static files (compressed when first asked for).
struct Static {
    /// Digest of every embedded file: the `/console/<version>/` prefix.
    version: String,
    files: Vec<(&'static str, Prepared)>,
}

static STATIC: LazyLock<Static> = LazyLock::new(|| {
    let mut all = Sha256::new();
    let files = FILES
        .iter()
        .map(|f| {
            all.update(f.name.as_bytes());
            all.update(f.body);
            (f.name, Prepared::new(f.mime, f.body.to_vec()))
        })
        .collect();
    all.update(INDEX.as_bytes());
    all.update(TRACK.as_bytes());
    Static {
        version: hex::encode(&all.finalize()[..6]),
        files,
    }
});

/// The version segment of the asset URLs.
pub fn version() -> &'static str {
    &STATIC.version
}

/// A static file by name.
pub fn file(name: &str) -> Option<&'static Prepared> {
    STATIC
        .files
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| p)
}

/// Escapes text for an HTML attribute value in double quotes.
fn attr_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The two pages, rendered with the configuration.
pub struct Pages {
    pub index: Prepared,
    pub track: Prepared,
    /// The pages' Content-Security-Policy: only this server, plus the tile host if any.
    pub csp: String,
}

impl Pages {
    /// Fills the templates: the asset prefix and the page settings (a JSON `<meta>`).
    pub fn render(cfg: &ConsoleConfig, offline_after_secs: u64) -> Pages {
        let settings = serde_json::json!({
            "tiles": cfg.tiles,
            "attribution": cfg.attribution,
            "offline_after_s": offline_after_secs,
            "version": version(),
        });
        let fill = |t: &str| {
            t.replace("{{BASE}}", &format!("/console/{}", version()))
                .replace("{{SETTINGS}}", &attr_escape(&settings.to_string()))
                .into_bytes()
        };
        let img = cfg
            .tile_origin()
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        Pages {
            index: Prepared::new("text/html; charset=utf-8", fill(INDEX)),
            track: Prepared::new("text/html; charset=utf-8", fill(TRACK)),
            csp: format!(
                "default-src 'self'; img-src 'self' data:{img}; connect-src 'self'; \
                 script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; \
                 frame-ancestors 'none'"
            ),
        }
    }

    /// A page answer with the security headers every page carries. `Referrer-Policy:
    /// no-referrer` keeps a tracking link's token out of the Referer of anything the page
    /// loads (tiles).
    pub fn respond(&self, page: &Prepared, req: &HeaderMap) -> Response {
        let mut r = page.respond(req, "no-cache");
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        r
    }
}

/// Total sizes of the console's own code (JS and CSS): (raw, gzip, br) bytes.
pub fn code_sizes() -> (usize, usize, usize) {
    STATIC
        .files
        .iter()
        .filter(|(n, _)| n.ends_with(".js") || n.ends_with(".css"))
        .map(|(_, p)| p.sizes())
        .fold((0, 0, 0), |(a, b, c), (i, g, br)| {
            (a + i, b + g.unwrap_or(i), c + br.unwrap_or(i))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn encodings_follow_accept_encoding_and_q_values() {
        assert!(accepts(
            &req(&[("accept-encoding", "gzip, deflate, br")]),
            "br"
        ));
        assert!(!accepts(&req(&[("accept-encoding", "gzip, br;q=0")]), "br"));
        assert!(accepts(&req(&[("accept-encoding", "GZIP;q=0.5")]), "gzip"));
        assert!(!accepts(&req(&[]), "gzip"));
        let p = file("map.js").expect("embedded");
        let r = p.respond(&req(&[("accept-encoding", "gzip, br")]), "no-cache");
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "br");
        let r = p.respond(&req(&[("accept-encoding", "gzip")]), "no-cache");
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        let r = p.respond(&req(&[]), "no-cache");
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
        let r = p.respond(&req(&[("if-none-match", &etag)]), "no-cache");
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    }

    /// The page stays small: its own code (JS + CSS, not the basemap) under 120 KB before
    /// and 40 KB after brotli. Run with `--nocapture` for the figures quoted in the README.
    #[test]
    fn the_console_code_stays_small() {
        let (raw, gz, br) = code_sizes();
        println!("console JS+CSS: {raw} B raw, {gz} B gzip, {br} B brotli");
        assert!(raw < 120_000 && br < 40_000, "{raw} B raw, {br} B brotli");
        assert!(br < gz && gz < raw);
        let (map, _, map_br) = file("world-50m.json").expect("basemap").sizes();
        println!("basemap: {map} B raw, {map_br:?} B brotli");
    }

    #[test]
    fn pages_name_the_versioned_assets_and_escape_the_settings() {
        let cfg = ConsoleConfig {
            attribution: "<b>\"Tiles\" & co</b>".into(),
            tiles: Some("https://t.example.com/{z}/{x}/{y}.png".into()),
            ..ConsoleConfig::default()
        };
        let p = Pages::render(&cfg, 600);
        let html = String::from_utf8(p.index.identity.clone()).unwrap();
        assert!(html.contains(&format!("/console/{}/main.js", version())));
        assert!(
            html.contains("&lt;b&gt;\\&quot;Tiles\\&quot; &amp; co&lt;/b&gt;"),
            "{html}"
        );
        assert!(!html.contains("{{"));
        assert!(
            p.csp
                .contains("img-src 'self' data: https://t.example.com;"),
            "{}",
            p.csp
        );
        for (name, f) in STATIC.files.iter() {
            assert!(f.identity.len() > 10, "{name} is empty");
        }
    }
}
