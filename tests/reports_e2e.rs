//! End to end: a GT06 device drives over TCP (0x22 locations every 10 s: north, east, a
//! 400 s stop, north again, parked), then the three reports over HTTP, JSON and CSV. Trip
//! distances are checked within 1 % of the geodesic (Karney) length of the fixes sent, the
//! stop's duration within one report interval of the real one; a bad window answers 400 and
//! a customer's token cannot read a device it does not see (404, as elsewhere). Frames sent
//! twice change no report.

mod support;

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use geo::{Distance, Geodesic, Point};
use reqwest::header::ACCEPT;
use serde_json::Value;
use support::gateway::{self, test_config};
use support::poll::eventually;
use tokio::io::AsyncWriteExt;
use trackgate::api::auth::config::TokenConfig;
use trackgate::api::auth::tokens::sha256_hex;
use trackgate::api::auth::Scope;
use trackgate::protocol::gt06::encode::{self, Cell};
use trackgate::protocol::Fix;
use trackgate::server::{self, Running};

const IMEI: &str = "356307042441077";
const INTERVAL_S: i64 = 10;
const CELL: Cell = Cell {
    mcc: 262,
    mnc: 1,
    lac: 1,
    cid: 1,
};

fn token(name: &str, customer: Option<&str>) -> TokenConfig {
    TokenConfig {
        name: name.into(),
        token_sha256: Some(sha256_hex(&format!("secret-{name}")).into()),
        scopes: vec![Scope::Read, Scope::Write],
        customer: customer.map(String::from),
        ..TokenConfig::default()
    }
}

/// The drive: 3 fixes parked, 30 × 100 m north and 20 × 100 m east at 36 km/h, 40 fixes
/// parked (400 s), 20 × 100 m north, 25 fixes parked (250 s, more than the 180 s that end a
/// trip). One fix every 10 s.
fn drive(t0: DateTime<Utc>) -> (Vec<Fix>, i64) {
    let m_lat = 1.0 / 111_195.0;
    let (mut lat, mut lon) = (52.0_f64, 13.0_f64);
    let m_lon = m_lat / lat.to_radians().cos();
    let mut v = Vec::new();
    let mut push = |lat: f64, lon: f64, speed: f64| {
        let i = v.len() as i64;
        v.push(Fix {
            time: t0 + Duration::seconds(i * INTERVAL_S),
            satellites: 9,
            lat,
            lon,
            speed_kmh: speed,
            course: 0.0,
            valid: true,
            ignition: speed > 0.0,
            ..Fix::default()
        });
    };
    for _ in 0..3 {
        push(lat, lon, 0.0);
    }
    for k in 0..50 {
        if k < 30 {
            lat += 100.0 * m_lat;
        } else {
            lon += 100.0 * m_lon;
        }
        push(lat, lon, 36.0);
    }
    let stop_s = 40 * INTERVAL_S;
    for _ in 0..40 {
        push(lat, lon, 0.0);
    }
    for _ in 0..20 {
        lat += 100.0 * m_lat;
        push(lat, lon, 36.0);
    }
    for _ in 0..25 {
        push(lat, lon, 0.0);
    }
    (v, stop_s)
}

/// Sends GT06 0x22 locations over one connection, checking each ACK.
async fn send(r: &Running, fixes: &[Fix]) {
    let mut s = gateway::connect(r, "gt06").await;
    gateway::send_expect(
        &mut s,
        &encode::login(IMEI, 1).expect("imei"),
        &encode::ack(0x01, 1),
    )
    .await;
    for (i, f) in fixes.iter().enumerate() {
        let serial = 2 + i as u16;
        gateway::send_expect(
            &mut s,
            &encode::location_22(f, &CELL, 0, false, false, serial),
            &encode::ack(0x22, serial),
        )
        .await;
    }
    s.shutdown().await.ok();
}

async fn get(r: &Running, path: &str, who: &str, csv: bool) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .get(format!("http://{}{path}", r.http_addr))
        .bearer_auth(format!("secret-{who}"));
    if csv {
        req = req.header(ACCEPT, "text/csv");
    }
    let resp = req.send().await.expect("request");
    let st = resp.status().as_u16();
    (st, resp.text().await.expect("body"))
}

async fn json(r: &Running, path: &str, who: &str) -> (u16, Value) {
    let (st, body) = get(r, path, who, false).await;
    (st, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .timestamp_millis()
}

/// Geodesic length of the fixes sent within `[from, to]`.
fn geodesic(fixes: &[Fix], from: i64, to: i64) -> f64 {
    let pts: Vec<Point> = fixes
        .iter()
        .filter(|f| (from..=to).contains(&f.time.timestamp_millis()))
        .map(|f| Point::new(f.lon, f.lat))
        .collect();
    pts.windows(2).map(|w| Geodesic.distance(w[0], w[1])).sum()
}

#[tokio::test]
async fn trips_stops_and_summary_of_a_drive_over_gt06() {
    let mut cfg = test_config("");
    cfg.api.tokens = vec![
        token("ops", None),
        token("acme", Some("acme")),
        token("globex", Some("globex")),
    ];
    let r = server::start(cfg).await.expect("start");
    let t0 = (Utc::now() - Duration::hours(2))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    let (fixes, stop_s) = drive(t0);
    send(&r, &fixes).await;

    let w = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let window = format!(
        "device={IMEI}&from={}&to={}",
        w(t0 - Duration::hours(1)),
        w(t0 + Duration::hours(1))
    );
    let trips = eventually(
        std::time::Duration::from_secs(15),
        "two trips",
        async || {
            let (st, body) = json(&r, &format!("/api/reports/trips?{window}"), "ops").await;
            match body.as_array() {
                Some(a) if st == 200 && a.len() == 2 => Ok(a.clone()),
                _ => Err(format!("{st}: {body}")),
            }
        },
    )
    .await;
    let mut total = 0.0;
    for t in &trips {
        let (from, to) = (
            ms(t["start_time"].as_str().unwrap()),
            ms(t["end_time"].as_str().unwrap()),
        );
        let want = geodesic(&fixes, from, to);
        let got = t["distance_m"].as_f64().unwrap();
        eprintln!(
            "trip {}: {got} m reported, {want:.1} m geodesic ({:+.3} %)",
            t["start_time"],
            (got - want) / want * 100.0
        );
        assert!((got - want).abs() / want < 0.01, "{got} vs {want}: {t}");
        assert!(want > 1_800.0, "{want}");
        assert_eq!(t["max_speed_kmh"], 36.0);
        assert_eq!(t["device"], IMEI);
        total += got;
    }
    // The first trip: 50 legs of 100 m, driving from the first fast fix.
    assert!(
        (trips[0]["distance_m"].as_f64().unwrap() - 4_900.0).abs() < 49.0,
        "{}",
        trips[0]
    );

    let (st, stops) = json(&r, &format!("/api/reports/stops?{window}"), "ops").await;
    assert_eq!(st, 200, "{stops}");
    let stops = stops.as_array().unwrap();
    assert_eq!(stops.len(), 1, "{stops:?}");
    let d = stops[0]["duration_s"].as_f64().unwrap();
    assert!(
        (d - stop_s as f64).abs() <= INTERVAL_S as f64,
        "{d} vs {stop_s}"
    );
    assert_eq!(stops[0]["departure"], trips[1]["start_time"]);
    assert_eq!(stops[0]["arrival"], trips[0]["end_time"]);

    let (st, days) = json(&r, &format!("/api/reports/summary?{window}"), "ops").await;
    assert_eq!(st, 200, "{days}");
    let days = days.as_array().unwrap();
    let sum: f64 = days.iter().map(|d| d["distance_m"].as_f64().unwrap()).sum();
    assert!((sum - total).abs() < 1.0, "{sum} vs {total}: {days:?}");
    let driving: f64 = days.iter().map(|d| d["driving_s"].as_f64().unwrap()).sum();
    assert_eq!(driving, (49 + 19) as f64 * INTERVAL_S as f64, "{days:?}");

    // CSV: a header and one line per trip, the same distances.
    let (st, csv) = get(&r, &format!("/api/reports/trips?{window}"), "ops", true).await;
    assert_eq!(st, 200, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    let cols: Vec<&str> = lines[0].split(',').collect();
    let at = cols
        .iter()
        .position(|c| *c == "distance_m")
        .expect("distance column");
    let d0: f64 = lines[1].split(',').nth(at).unwrap().parse().unwrap();
    assert_eq!(d0, trips[0]["distance_m"].as_f64().unwrap());
    let (st, csv) = get(&r, &format!("/api/reports/summary?{window}"), "ops", true).await;
    assert!(
        st == 200 && csv.starts_with("device,name,day,distance_m,"),
        "{csv}"
    );

    // Paging: one trip per page, the second through the cursor.
    let (st, one) = json(&r, &format!("/api/reports/trips?{window}&limit=1"), "ops").await;
    assert_eq!((st, one.as_array().map(Vec::len)), (200, Some(1)));
    let resp = reqwest::Client::new()
        .get(format!(
            "http://{}/api/reports/trips?{window}&limit=1",
            r.http_addr
        ))
        .bearer_auth("secret-ops")
        .send()
        .await
        .unwrap();
    let after = resp.headers()["x-next-after"].to_str().unwrap().to_string();
    let q = format!(
        "/api/reports/trips?{window}&limit=1&after={}",
        form_urlencoded::byte_serialize(after.as_bytes()).collect::<String>()
    );
    let (_, second) = json(&r, &q, "ops").await;
    assert_eq!(second[0]["start_time"], trips[1]["start_time"]);

    // The device sends everything again (it thinks it was lost): the reports do not change.
    // Then one more short drive, to know the consumer has read past the repeated frames.
    send(&r, &fixes).await;
    let last = fixes.last().unwrap().clone();
    let more: Vec<Fix> = (1..=40)
        .map(|i| Fix {
            time: last.time + Duration::seconds(i * INTERVAL_S),
            lat: last.lat + if i <= 20 { i as f64 } else { 20.0 } * 100.0 / 111_195.0,
            speed_kmh: if i <= 20 { 36.0 } else { 0.0 },
            ignition: i <= 20,
            ..last.clone()
        })
        .collect();
    send(&r, &more).await;
    let again = eventually(
        std::time::Duration::from_secs(15),
        "three trips",
        async || {
            let (st, body) = json(&r, &format!("/api/reports/trips?{window}"), "ops").await;
            match body.as_array() {
                Some(a) if st == 200 && a.len() == 3 => Ok(a.clone()),
                _ => Err(format!("{st}: {body}")),
            }
        },
    )
    .await;
    assert_eq!(again[..2], trips[..]);
    let (_, stops_again) = json(&r, &format!("/api/reports/stops?{window}"), "ops").await;
    assert_eq!(
        stops_again.as_array().map(Vec::len),
        Some(2),
        "{stops_again}"
    );
    let (_, days_again) = json(&r, &format!("/api/reports/summary?{window}"), "ops").await;
    let driving_again: f64 = days_again
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["driving_s"].as_f64().unwrap())
        .sum();
    assert_eq!(
        driving_again,
        driving + 19.0 * INTERVAL_S as f64,
        "{days_again}"
    );

    // Bad windows: 400 with a JSON error.
    let reversed = format!(
        "/api/reports/trips?from={}&to={}",
        w(t0),
        w(t0 - Duration::hours(1))
    );
    let too_long = format!(
        "/api/reports/stops?from={}&to={}",
        w(t0 - Duration::days(40)),
        w(t0)
    );
    for bad in [
        reversed.as_str(),
        too_long.as_str(),
        "/api/reports/summary",
        "/api/reports/trips?from=yesterday&to=today",
        "/api/reports/trips?from=0&to=10&limit=many",
    ] {
        let (st, body) = json(&r, bad, "ops").await;
        assert_eq!(st, 400, "{bad}: {body}");
        assert!(body["error"].is_string(), "{bad}: {body}");
    }

    // A customer's token: the device is on none of its shipments, so it does not exist.
    for report in ["trips", "stops", "summary"] {
        let (st, body) = json(&r, &format!("/api/reports/{report}?{window}"), "acme").await;
        assert_eq!(st, 404, "{report}: {body}");
        let all = format!(
            "/api/reports/{report}?from={}&to={}",
            w(t0 - Duration::hours(1)),
            w(t0 + Duration::hours(1))
        );
        let (st, body) = json(&r, &all, "acme").await;
        assert_eq!((st, body), (200, Value::Array(vec![])), "{report}");
        let (st, body) = json(&r, &all, "ops").await;
        assert!(
            st == 200 && !body.as_array().unwrap().is_empty(),
            "{report}: {body}"
        );
    }

    // Registered (name, group, customer globex): rows carry the name, `group=` selects it,
    // and globex's token now sees it (acme's still does not).
    assert_eq!(
        put(&r, "/api/groups/vans", serde_json::json!({})).await,
        201
    );
    let van = serde_json::json!({"name": "Van 7", "group": "vans", "customer": "globex"});
    assert_eq!(put(&r, &format!("/api/devices/{IMEI}"), van).await, 201);
    let span = format!(
        "from={}&to={}",
        w(t0 - Duration::hours(1)),
        w(t0 + Duration::hours(1))
    );
    let (_, named) = json(&r, &format!("/api/reports/trips?{span}&group=vans"), "ops").await;
    assert_eq!(named.as_array().map(Vec::len), Some(3), "{named}");
    assert_eq!(named[0]["name"], "Van 7");
    let (_, none) = json(&r, &format!("/api/reports/trips?{span}&group=cars"), "ops").await;
    assert_eq!(none, Value::Array(vec![]));
    let (st, theirs) = json(&r, &format!("/api/reports/stops?{window}"), "globex").await;
    assert_eq!(
        (st, theirs.as_array().map(Vec::len)),
        (200, Some(2)),
        "{theirs}"
    );
    let (st, _) = json(&r, &format!("/api/reports/stops?{window}"), "acme").await;
    assert_eq!(st, 404);
    r.shutdown().await;
}

async fn put(r: &Running, path: &str, body: Value) -> u16 {
    reqwest::Client::new()
        .put(format!("http://{}{path}", r.http_addr))
        .bearer_auth("secret-ops")
        .json(&body)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}
