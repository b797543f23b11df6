//! End to end: a geofence created over the API, a GT06 device driving through it over TCP
//! (0x22 locations with the ACC bit), and the fleet events read back from `/api/events`:
//! ignition on, motion start, geofence enter, geofence exit, ignition off — each once, at the
//! fix times the rules give, also after the device sends the same frames again.

mod support;

use chrono::{DateTime, Duration, DurationRound, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use support::{eventually, gateway};
use tokio::io::AsyncWriteExt;
use trackgate::protocol::gt06::encode::{self, Cell};
use trackgate::protocol::Fix;
use trackgate::server::Running;

const IMEI: &str = "356307042441099";
const LAT: f64 = 52.0;
const LON: f64 = 13.0;

fn lon_at(east_m: f64) -> f64 {
    LON + east_m / (6_371_008.8_f64 * std::f64::consts::PI / 180.0 * LAT.to_radians().cos())
}

async fn call(r: &Running, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("http://{}{path}", r.http_addr));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

const CELL: Cell = Cell {
    mcc: 262,
    mnc: 1,
    lac: 1,
    cid: 1,
};

/// The drive: 3 fixes parked 1 km west with the ignition off, then ignition on and 36 km/h
/// east in 100 m steps every 10 s to 1 km east (through the 300 m circle at the origin),
/// then parked with the ignition off.
fn drive(t0: DateTime<Utc>) -> Vec<Fix> {
    let fix = |i: i64, east: f64, speed: f64, ignition: bool| Fix {
        time: t0 + Duration::seconds(i * 10),
        satellites: 9,
        lat: LAT,
        lon: lon_at(east),
        speed_kmh: speed,
        course: 90.0,
        valid: true,
        ignition,
        ..Fix::default()
    };
    let mut v: Vec<Fix> = (0..3).map(|i| fix(i, -1000.0, 0.0, false)).collect();
    v.extend((0..=20).map(|k| fix(3 + k, -1000.0 + 100.0 * k as f64, 36.0, true)));
    v.push(fix(24, 1000.0, 0.0, false));
    v
}

/// Sends GT06 0x22 locations over one connection, checking each ACK.
async fn send(r: &Running, fixes: &[Fix], serial: &mut u16) {
    let mut s = gateway::connect(r, "gt06").await;
    *serial += 1;
    gateway::send_expect(
        &mut s,
        &encode::login(IMEI, *serial).expect("imei"),
        &encode::ack(0x01, *serial),
    )
    .await;
    for f in fixes {
        *serial += 1;
        gateway::send_expect(
            &mut s,
            &encode::location_22(f, &CELL, 0, false, false, *serial),
            &encode::ack(0x22, *serial),
        )
        .await;
    }
    s.shutdown().await.ok();
}

/// The device's events as (type, time, geofence), once there are `n` of them (10 s limit).
async fn events(r: &Running, n: usize) -> Vec<(String, String, Option<String>)> {
    eventually(
        std::time::Duration::from_secs(10),
        &format!("{n} events of {IMEI}"),
        async || {
            let (st, body) = call(
                r,
                Method::GET,
                &format!("/api/events?device={IMEI}&limit=100"),
                None,
            )
            .await;
            let list: Vec<(String, String, Option<String>)> = body["events"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    (
                        e["type"].as_str().unwrap_or("").to_string(),
                        e["time"].as_str().unwrap_or("").to_string(),
                        e["geofence"].as_str().map(str::to_string),
                    )
                })
                .collect();
            if st == 200 && list.len() >= n {
                Ok(list)
            } else {
                Err(format!("{st}: {list:?}"))
            }
        },
    )
    .await
}

#[tokio::test]
async fn a_device_driving_through_a_geofence_gives_enter_and_exit_once() {
    let r = gateway::start("").await;

    // The API: create, refuse a duplicate and bad areas, show, list.
    let yard = json!({"id": "yard", "name": "Yard", "area": {"circle": {"lat": LAT, "lon": LON, "radius_m": 300.0}}});
    let (st, body) = call(&r, Method::POST, "/api/geofences", Some(yard.clone())).await;
    assert_eq!((st, &body), (201, &yard));
    let (st, body) = call(&r, Method::POST, "/api/geofences", Some(yard.clone())).await;
    assert_eq!(st, 409, "{body}");
    let open_ring = json!({"name": "bad", "area": {"type": "Polygon", "coordinates": [[[13.0, 52.0], [13.1, 52.0], [13.1, 52.1], [13.0, 52.1]]]}});
    let (st, body) = call(&r, Method::POST, "/api/geofences", Some(open_ring)).await;
    assert_eq!(st, 400);
    assert!(
        body["error"].as_str().unwrap().contains("not closed"),
        "{body}"
    );
    let (st, body) = call(
        &r,
        Method::POST,
        "/api/geofences",
        Some(json!({"name": "x", "area": {"circle": {"lat": 52, "lon": 13, "radius_m": -1}}})),
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        body["error"].as_str().unwrap().contains("radius_m"),
        "{body}"
    );
    for (raw, want) in [
        ("{\"name\": \"x\", \"area\": ", "EOF while parsing"),
        (
            "{\"name\": 5, \"area\": {\"circle\": {\"lat\": 1, \"lon\": 2, \"radius_m\": 3}}}",
            "name: invalid type",
        ),
        ("[]", "expected struct Geofence"),
    ] {
        let resp = reqwest::Client::new()
            .post(format!("http://{}/api/geofences", r.http_addr))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status().as_u16(), 400, "{raw}");
        let body: Value = resp.json().await.expect("json error");
        assert!(
            body["error"].as_str().unwrap().contains(want),
            "{raw}: {body}"
        );
    }
    let far = json!({"name": "Elsewhere", "area": {"type": "Polygon", "coordinates": [[[10.0, 50.0], [10.01, 50.0], [10.01, 50.01], [10.0, 50.0]]]}, "speed_limit_kmh": 30});
    let (st, made) = call(&r, Method::POST, "/api/geofences", Some(far)).await;
    assert_eq!(st, 201, "{made}");
    let made_id = made["id"].as_str().expect("generated id").to_string();
    assert!(made_id.starts_with("gf_"), "{made_id}");
    let (st, body) = call(&r, Method::GET, "/api/geofences/yard", None).await;
    assert_eq!((st, &body), (200, &yard));
    // Paged by id: `gf_…` sorts before `yard`; the next page is named in the headers.
    let resp = reqwest::get(format!("http://{}/api/geofences?limit=1", r.http_addr))
        .await
        .expect("list");
    assert_eq!(resp.headers()["x-next-after"], made_id.as_str());
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["id"], made_id.as_str());
    let path = format!("/api/geofences?limit=1&after={made_id}");
    let (st, body) = call(&r, Method::GET, &path, None).await;
    assert_eq!((st, body), (200, json!([yard])));

    // The drive, over TCP; then the same frames again (a device re-sending what it thinks
    // was lost) and one fix more, which turns the ignition on again.
    let t0 = (Utc::now() - Duration::hours(1))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    let fixes = drive(t0);
    let mut serial = 0;
    send(&r, &fixes, &mut serial).await;
    let at = |i: i64| {
        (t0 + Duration::seconds(i * 10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let want = vec![
        ("ignition_on".to_string(), at(3), None),
        ("motion_start".to_string(), at(3), None),
        // 100 m inside at x = -200 m (fix 11) and x = -100 m (fix 12): entered at the second.
        (
            "geofence_enter".to_string(),
            at(12),
            Some("yard".to_string()),
        ),
        // 100 m and 200 m beyond at x = 400 m and 500 m (fixes 17, 18).
        (
            "geofence_exit".to_string(),
            at(18),
            Some("yard".to_string()),
        ),
        ("ignition_off".to_string(), at(24), None),
    ];
    assert_eq!(events(&r, want.len()).await, want);
    let enters = gateway::metric(&r, "trackgate_fleet_events_total{type=\"geofence_enter\"}");
    assert_eq!(enters, Some(1.0));
    assert_eq!(gateway::metric(&r, "trackgate_fleet_geofences"), Some(2.0));
    send(&r, &fixes, &mut serial).await;
    let mut last = fixes.last().unwrap().clone();
    last.time += Duration::seconds(10);
    last.ignition = true;
    send(&r, &[last], &mut serial).await;
    let mut want2 = want.clone();
    want2.push(("ignition_on".to_string(), at(25), None));
    assert_eq!(
        events(&r, want2.len()).await,
        want2,
        "the re-sent frames added nothing"
    );

    // Replace (200), create by PUT (201), delete (204, then 404).
    let mut bigger = yard.clone();
    bigger["area"]["circle"]["radius_m"] = json!(400.0);
    let (st, body) = call(&r, Method::PUT, "/api/geofences/yard", Some(bigger.clone())).await;
    assert_eq!((st, &body), (200, &bigger));
    let (st, _) = call(
        &r,
        Method::PUT,
        "/api/geofences/depot",
        Some(json!({"name": "Depot", "area": {"circle": {"lat": 1, "lon": 2, "radius_m": 50}}})),
    )
    .await;
    assert_eq!(st, 201);
    let (st, body) = call(&r, Method::PUT, "/api/geofences/depot", Some(json!({"id": "other", "name": "Depot", "area": {"circle": {"lat": 1, "lon": 2, "radius_m": 50}}}))).await;
    assert_eq!(st, 400, "{body}");
    let (st, _) = call(
        &r,
        Method::DELETE,
        &format!("/api/geofences/{made_id}"),
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, body) = call(
        &r,
        Method::DELETE,
        &format!("/api/geofences/{made_id}"),
        None,
    )
    .await;
    assert_eq!(st, 404, "{body}");
    let (_, body) = call(&r, Method::GET, "/api/geofences", None).await;
    let ids: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["depot", "yard"]);
    r.shutdown().await;
}

mod tenancy {
    //! Customers' tokens and geofences: each customer sees and changes only its own, may
    //! limit them only to vehicles it can see, and gets the events of its geofences only.

    use super::support::gateway::test_config;
    use super::*;
    use trackgate::api::auth::config::TokenConfig;
    use trackgate::api::auth::tokens::sha256_hex;
    use trackgate::api::auth::Scope;

    const ACME_DEV: &str = "860000000000001";

    fn token(name: &str, customer: Option<&str>) -> TokenConfig {
        TokenConfig {
            name: name.into(),
            token_sha256: Some(sha256_hex(&format!("secret-{name}")).into()),
            scopes: vec![Scope::Read, Scope::Write],
            customer: customer.map(String::from),
            ..TokenConfig::default()
        }
    }

    async fn as_(
        r: &Running,
        who: &str,
        m: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .request(m, format!("http://{}{path}", r.http_addr))
            .bearer_auth(format!("secret-{who}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let st = resp.status().as_u16();
        (st, resp.json().await.unwrap_or(Value::Null))
    }

    /// One OsmAnd fix of `ACME_DEV`, `s` seconds after `t0`, at `lat`.
    async fn osmand(r: &Running, t0: DateTime<Utc>, s: i64, lat: f64) {
        let t = (t0 + Duration::seconds(s)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let url = format!(
            "http://{}/?id={ACME_DEV}&lat={lat}&lon={LON}&timestamp={t}&speed=0",
            r.addr("osmand", "http").expect("osmand")
        );
        assert_eq!(reqwest::get(&url).await.expect("osmand").status(), 200);
    }

    #[tokio::test]
    async fn a_customer_sees_changes_and_hears_only_its_own_geofences() {
        let mut cfg = test_config("");
        cfg.api.tokens = vec![
            token("ops", None),
            token("acme", Some("acme")),
            token("globex", Some("globex")),
        ];
        let r = trackgate::server::start(cfg).await.expect("start");
        // acme's vehicle: on one of acme's shipments.
        let t0 = (Utc::now() - Duration::hours(1))
            .duration_trunc(Duration::seconds(1))
            .unwrap();
        let shipment = json!({
            "id": "sh-acme", "device": ACME_DEV,
            "route": {"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.1, LAT]]},
            "stops": [{"id": "a", "lat": LAT, "lon": LON + 0.1, "planned_arrival": (t0 + Duration::hours(3)).to_rfc3339()}]
        });
        let (st, body) = as_(&r, "acme", Method::POST, "/api/shipments", Some(shipment)).await;
        assert_eq!(st, 201, "{body}");

        let circle = json!({"circle": {"lat": LAT, "lon": LON, "radius_m": 200.0}});
        let mine =
            json!({"id": "acme-yard", "name": "Yard", "area": circle, "devices": [ACME_DEV]});
        let (st, body) = as_(&r, "acme", Method::POST, "/api/geofences", Some(mine)).await;
        assert_eq!(
            (st, body["customer"].as_str()),
            (201, Some("acme")),
            "{body}"
        );
        for (body, want, text) in [
            (
                json!({"name": "n", "area": circle}),
                400,
                "devices: a customer's geofence lists",
            ),
            (
                json!({"name": "n", "area": circle, "devices": ["860000000000002"]}),
                404,
                "no device",
            ),
            (
                json!({"name": "n", "area": circle, "devices": [ACME_DEV], "customer": "globex"}),
                403,
                "creates only",
            ),
        ] {
            let (st, got) = as_(&r, "acme", Method::POST, "/api/geofences", Some(body)).await;
            assert_eq!(st, want, "{got}");
            assert!(got["error"].as_str().unwrap().contains(text), "{got}");
        }
        let ops_zone = json!({"id": "ops-zone", "name": "Ops", "area": circle});
        assert_eq!(
            as_(&r, "ops", Method::POST, "/api/geofences", Some(ops_zone))
                .await
                .0,
            201
        );

        // Lists and reads: each its own (ops: all); others' answer 404, a taken id 409.
        let ids = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|g| g["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            ids(&as_(&r, "acme", Method::GET, "/api/geofences", None).await.1),
            ["acme-yard"]
        );
        assert!(ids(&as_(&r, "globex", Method::GET, "/api/geofences", None)
            .await
            .1)
        .is_empty());
        assert_eq!(
            ids(&as_(&r, "ops", Method::GET, "/api/geofences", None).await.1),
            ["acme-yard", "ops-zone"]
        );
        assert_eq!(
            as_(&r, "globex", Method::GET, "/api/geofences/acme-yard", None)
                .await
                .0,
            404
        );
        assert_eq!(
            as_(
                &r,
                "globex",
                Method::DELETE,
                "/api/geofences/acme-yard",
                None
            )
            .await
            .0,
            404
        );
        assert_eq!(
            as_(&r, "acme", Method::GET, "/api/geofences/ops-zone", None)
                .await
                .0,
            404
        );
        let over = json!({"name": "mine now", "area": circle, "devices": [ACME_DEV]});
        assert_eq!(
            as_(
                &r,
                "acme",
                Method::PUT,
                "/api/geofences/ops-zone",
                Some(over)
            )
            .await
            .0,
            409
        );

        // The vehicle drives in: acme hears its geofence's enter, globex nothing.
        // 1.1 km north (outside), then twice at the centre.
        for (s, lat) in [(0, LAT + 0.01), (10, LAT), (20, LAT)] {
            osmand(&r, t0, s, lat).await;
        }
        let enter = eventually(
            std::time::Duration::from_secs(10),
            "acme's geofence_enter",
            async || {
                let (_, b) = as_(
                    &r,
                    "acme",
                    Method::GET,
                    "/api/events?type=geofence_enter",
                    None,
                )
                .await;
                let list = b["events"].as_array().cloned().unwrap_or_default();
                list.into_iter()
                    .find(|e| e["geofence"] == "acme-yard")
                    .ok_or(format!("{b}"))
            },
        )
        .await;
        assert_eq!(enter["customer"], "acme");
        assert_eq!(enter["device"], ACME_DEV);
        let (_, b) = as_(
            &r,
            "globex",
            Method::GET,
            "/api/events?type=geofence_enter",
            None,
        )
        .await;
        assert_eq!(b["events"], json!([]), "globex hears nothing");
        // ops hears both geofences' enters (ops-zone applies to every device).
        let (_, b) = as_(
            &r,
            "ops",
            Method::GET,
            "/api/events?type=geofence_enter",
            None,
        )
        .await;
        let mut fences: Vec<&str> = b["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["geofence"].as_str())
            .collect();
        fences.sort();
        assert_eq!(fences, ["acme-yard", "ops-zone"]);
        r.shutdown().await;
    }
}

/// `device_online` when a device starts sending, `device_offline` once it closed its
/// connection and stayed silent for `offline_after_secs`, each once.
#[tokio::test]
async fn devices_going_online_and_offline_are_events() {
    let mut cfg =
        gateway::test_config("[devices]\noffline_after_secs = 1\nforget_after = \"1h\"\n");
    cfg.events.presence = true;
    let r = trackgate::server::start(cfg).await.expect("start");
    let t0 = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    let mut serial = 0;
    send(&r, &drive(t0)[..1], &mut serial).await;
    let got = eventually(
        std::time::Duration::from_secs(30),
        "device_online then device_offline",
        async || {
            let (_, body) = call(
                &r,
                Method::GET,
                &format!("/api/events?device={IMEI}&limit=100"),
                None,
            )
            .await;
            let kinds: Vec<String> = body["events"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["type"].as_str().map(str::to_string))
                .filter(|k| k.starts_with("device_"))
                .collect();
            if kinds.len() >= 2 {
                Ok(kinds)
            } else {
                Err(format!("{body}"))
            }
        },
    )
    .await;
    assert_eq!(got, ["device_online", "device_offline"]);
    r.shutdown().await;
}
