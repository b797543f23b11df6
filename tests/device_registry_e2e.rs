//! The device registry end to end: a gateway on port 0, its API over HTTP, a GT06 tracker
//! over a real socket, and the `trackgate devices` CLI as a child process on the same
//! storage directory as a running server.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;
use support::gateway::{connect, expect_closed, gt06_login, metric, temp_dir, test_config};
use support::poll::eventually;
use support::wire::{gt06_location, Gt06Fix, GT06_IMEI, GT06_LOGIN};
use tokio::io::AsyncWriteExt;
use trackgate::api::auth::config::TokenConfig;
use trackgate::api::auth::tokens::sha256_hex;
use trackgate::api::auth::Scope;
use trackgate::server::{self, Running};

fn token(name: &str, customer: Option<&str>) -> TokenConfig {
    TokenConfig {
        name: name.into(),
        token_sha256: Some(sha256_hex(&format!("secret-{name}")).into()),
        scopes: vec![Scope::Read, Scope::Write],
        customer: customer.map(String::from),
        ..TokenConfig::default()
    }
}

/// A gateway with an ops token and two customers' tokens.
async fn gateway(extra: &str) -> Running {
    gateway_with_dir(extra).await.0
}

/// [`gateway`] and its storage directory (for the CLI).
async fn gateway_with_dir(extra: &str) -> (Running, std::path::PathBuf) {
    let mut cfg = test_config(extra);
    cfg.api.tokens = vec![
        token("ops", None),
        token("acme", Some("acme")),
        token("globex", Some("globex")),
    ];
    let dir = cfg.storage.dir.clone();
    (server::start(cfg).await.expect("start"), dir)
}

/// One API call as `who`; the status, the JSON body (`Null` if none) and the
/// `x-next-after` cursor.
async fn call(
    r: &Running,
    m: Method,
    path: &str,
    who: &str,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut req = reqwest::Client::new()
        .request(m, format!("http://{}{path}", r.http_addr))
        .bearer_auth(format!("secret-{who}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let st = resp.status();
    let next = resp
        .headers()
        .get("x-next-after")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (st, resp.json().await.unwrap_or(Value::Null), next)
}

async fn get(r: &Running, path: &str, who: &str) -> (StatusCode, Value) {
    let (st, v, _) = call(r, Method::GET, path, who, None).await;
    (st, v)
}

async fn put(r: &Running, path: &str, who: &str, body: Value) -> (StatusCode, Value) {
    let (st, v, _) = call(r, Method::PUT, path, who, Some(body)).await;
    (st, v)
}

/// The ids `/api/devices?{query}` lists for the ops token.
async fn search(r: &Running, query: &str) -> Vec<String> {
    ids(&get(r, &format!("/api/devices?{query}"), "ops").await.1)
}

/// The ids `/api/devices?{query}` lists for `who`.
async fn search_as(r: &Running, query: &str, who: &str) -> Vec<String> {
    ids(&get(r, &format!("/api/devices?{query}"), who).await.1)
}

/// PATCH as acme; the status.
async fn acme_patch(r: &Running, id: &str, body: Value) -> StatusCode {
    let path = format!("/api/devices/{id}");
    call(r, Method::PATCH, &path, "acme", Some(body)).await.0
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|d| d["id"].as_str().expect("id").to_string())
        .collect()
}

/// Waits (5 s) until the ops token sees a fix of device `id`; its view.
async fn wait_fix(r: &Running, id: &str) -> Value {
    let path = format!("/api/devices/{id}");
    eventually(
        Duration::from_secs(5),
        &format!("a fix of {id}"),
        async || match get(r, &path, "ops").await {
            (StatusCode::OK, d) if !d["lat"].is_null() => Ok(d),
            (st, d) => Err(format!("{st} {d}")),
        },
    )
    .await
}

/// A GT06 fix of the test tracker.
fn gt06_fix(serial: u16) -> Vec<u8> {
    let fix = Gt06Fix {
        time: chrono::Utc::now(),
        satellites: 9,
        lat: 52.5,
        lon: 13.4,
        speed: 40,
        course: 90,
    };
    gt06_location(&fix, serial)
}

#[tokio::test]
async fn devices_are_registered_listed_searched_paged_patched_and_forgotten() {
    let r = gateway("").await;
    // Groups: eu > north.
    let (st, _, _) = call(
        &r,
        Method::POST,
        "/api/groups",
        "ops",
        Some(json!({"id": "eu", "name": "Europe"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _, _) = call(
        &r,
        Method::POST,
        "/api/groups",
        "ops",
        Some(json!({"id": "eu"})),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "POST of an existing id");
    let (st, g) = put(&r, "/api/groups/north", "ops", json!({"parent": "eu"})).await;
    assert_eq!((st, &g["parent"]), (StatusCode::CREATED, &json!("eu")));
    let (st, e) = put(&r, "/api/groups/city", "ops", json!({"parent": "north"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("nest one level"),
        "{e}"
    );

    // Create (201), replace (200).
    let truck = json!({"name": "Blue Truck", "plate": "HH-AB 1", "group": "north",
                       "customer": "acme", "speed_limit_kmh": 80});
    let (st, d) = put(&r, "/api/devices/100", "ops", truck.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{d}");
    assert_eq!(d["name"], "Blue Truck");
    assert_eq!(d["registered"], true);
    assert_eq!(d["online"], false);
    assert_eq!(d["protocol"], Value::Null, "never seen");
    assert_eq!(d["lat"], Value::Null);
    let (st, _) = put(&r, "/api/devices/100", "ops", truck).await;
    assert_eq!(st, StatusCode::OK);

    // Bad input: 400 naming the problem, nothing stored.
    for (body, needle) in [
        (json!({"group": "ghost"}), "no group \"ghost\""),
        (json!({"speed_limit_kmh": 9999}), "speed_limit_kmh"),
        (json!({"colour": "red"}), "colour"),
        (json!({"name": 7}), "name"),
        (json!({"name": "x".repeat(101)}), "more than 100"),
    ] {
        let (st, e) = put(&r, "/api/devices/555", "ops", body).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
        assert!(e["error"].as_str().unwrap().contains(needle), "{e}");
    }
    let resp = reqwest::Client::new()
        .put(format!("http://{}/api/devices/555", r.http_addr))
        .bearer_auth("secret-ops")
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.json::<Value>().await.unwrap()["error"].is_string());
    assert_eq!(
        get(&r, "/api/devices/555", "ops").await.0,
        StatusCode::NOT_FOUND
    );

    for (id, body) in [
        ("200", json!({"plate": "BLUE-2", "customer": "globex"})),
        ("300", json!({"name": "Red Van", "group": "eu"})),
        ("400", json!({"name": "Green"})),
    ] {
        assert_eq!(
            put(&r, &format!("/api/devices/{id}"), "ops", body).await.0,
            StatusCode::CREATED
        );
    }

    // An unregistered tracker connects: listed with its id only.
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    s.write_all(&gt06_fix(2)).await.unwrap();
    wait_fix(&r, GT06_IMEI).await;
    let (st, all) = get(&r, "/api/devices", "ops").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ids(&all), ["100", "200", "300", "400", GT06_IMEI]);
    let gt = &all[4];
    assert_eq!(
        (gt["registered"].clone(), gt["name"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(gt["protocol"], "gt06");

    // Search: name, plate, id; case ignored. Group includes subgroups.
    assert_eq!(search(&r, "q=BLUE").await, ["100", "200"]);
    assert_eq!(search(&r, "q=hh-ab").await, ["100"]);
    assert_eq!(search(&r, "q=47170032").await, [GT06_IMEI]);
    assert_eq!(search(&r, "group=eu").await, ["100", "300"]);
    assert_eq!(search(&r, "group=north").await, ["100"]);
    assert_eq!(search(&r, "customer=globex").await, ["200"]);
    assert_eq!(search(&r, "q=blue&customer=acme").await, ["100"]);

    // Paging: follow the cursor through the merged list.
    let mut seen = Vec::new();
    let mut path = "/api/devices?limit=2".to_string();
    loop {
        let (st, page, next) = call(&r, Method::GET, &path, "ops", None).await;
        assert_eq!(st, StatusCode::OK);
        assert!(page.as_array().unwrap().len() <= 2);
        seen.extend(ids(&page));
        match next {
            Some(after) => path = format!("/api/devices?limit=2&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen, ["100", "200", "300", "400", GT06_IMEI]);
    let (_, page, next) = call(&r, Method::GET, "/api/devices?q=e&limit=1", "ops", None).await;
    assert_eq!(
        (ids(&page), next.as_deref()),
        (vec!["100".to_string()], Some("100"))
    );

    // PATCH: absent stays, null clears; unregistered is 404.
    let (st, d, _) = call(
        &r,
        Method::PATCH,
        "/api/devices/100",
        "ops",
        Some(json!({"plate": null, "notes": "new tyres"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(
        (d["name"].clone(), d["plate"].clone(), d["notes"].clone()),
        (json!("Blue Truck"), Value::Null, json!("new tyres"))
    );
    let (st, _, _) = call(
        &r,
        Method::PATCH,
        &format!("/api/devices/{GT06_IMEI}"),
        "ops",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Naming the connected tracker: its live view carries the name.
    let (st, d) = put(
        &r,
        &format!("/api/devices/{GT06_IMEI}"),
        "ops",
        json!({"name": "Tracker 1", "group": "north"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(
        (d["name"].clone(), d["protocol"].clone()),
        (json!("Tracker 1"), json!("gt06"))
    );
    assert!((d["lat"].as_f64().unwrap() - 52.5).abs() < 1e-6, "{d}");

    // A group in use stays.
    let (st, e, _) = call(&r, Method::DELETE, "/api/groups/north", "ops", None).await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert_eq!(
        get(&r, "/api/groups", "ops")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // DELETE forgets the registry entry and live state.
    drop(s);
    let (st, _, _) = call(
        &r,
        Method::DELETE,
        &format!("/api/devices/{GT06_IMEI}"),
        "ops",
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&r, &format!("/api/devices/{GT06_IMEI}"), "ops").await.0,
        StatusCode::NOT_FOUND
    );
    let (st, _, _) = call(
        &r,
        Method::DELETE,
        &format!("/api/devices/{GT06_IMEI}"),
        "ops",
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(
        ids(&get(&r, "/api/devices", "ops").await.1),
        ["100", "200", "300", "400"]
    );
    r.shutdown().await;
}

#[tokio::test]
async fn allow_registered_admits_only_registered_trackers_without_a_restart() {
    let r = gateway("[devices]\nallow = \"registered\"\n").await;
    let refused = "trackgate_devices_refused_total{protocol=\"gt06\"}";
    // Unregistered: no login ACK, the connection closes, counted.
    let mut s = connect(&r, "gt06").await;
    s.write_all(&hex::decode(GT06_LOGIN).unwrap())
        .await
        .unwrap();
    expect_closed(&mut s).await;
    assert_eq!(metric(&r, refused), Some(1.0));
    assert_eq!(
        get(&r, &format!("/api/devices/{GT06_IMEI}"), "ops").await.0,
        StatusCode::NOT_FOUND
    );

    // Registered through the API: the next login is answered.
    let (st, _) = put(
        &r,
        &format!("/api/devices/{GT06_IMEI}"),
        "ops",
        json!({"name": "Tracker 1"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    s.write_all(&gt06_fix(2)).await.unwrap();
    let d = wait_fix(&r, GT06_IMEI).await;
    assert_eq!(d["name"], "Tracker 1");
    drop(s);

    // Forgotten: refused again.
    let (st, _, _) = call(
        &r,
        Method::DELETE,
        &format!("/api/devices/{GT06_IMEI}"),
        "ops",
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let mut s = connect(&r, "gt06").await;
    s.write_all(&hex::decode(GT06_LOGIN).unwrap())
        .await
        .unwrap();
    expect_closed(&mut s).await;
    assert_eq!(metric(&r, refused), Some(2.0));
    r.shutdown().await;
}

#[tokio::test]
async fn a_customer_token_sees_and_edits_only_its_customers_devices() {
    let r = gateway("").await;
    // acme registers its own (the customer is filled in), globex its own.
    let (st, d) = put(&r, "/api/devices/111", "acme", json!({"name": "Acme 1"})).await;
    assert_eq!(
        (st, d["customer"].clone()),
        (StatusCode::CREATED, json!("acme"))
    );
    let (st, _) = put(
        &r,
        "/api/devices/222",
        "globex",
        json!({"name": "Globex 1"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = put(&r, "/api/devices/333", "ops", json!({"name": "Unassigned"})).await;
    assert_eq!(st, StatusCode::CREATED);

    // Reads.
    assert_eq!(ids(&get(&r, "/api/devices", "acme").await.1), ["111"]);
    assert_eq!(
        ids(&get(&r, "/api/devices?q=globex", "acme").await.1),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&get(&r, "/api/devices?customer=globex", "acme").await.1),
        Vec::<String>::new()
    );
    assert_eq!(
        get(&r, "/api/devices/222", "acme").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&r, "/api/devices/333", "acme").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&r, "/api/devices/111", "acme").await.0, StatusCode::OK);
    assert_eq!(
        ids(&get(&r, "/api/devices", "ops").await.1),
        ["111", "222", "333"]
    );

    // Writes: another customer's device is "not found"; another customer's name forbidden.
    assert_eq!(
        put(&r, "/api/devices/222", "acme", json!({"name": "mine now"}))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put(&r, "/api/devices/333", "acme", json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put(
            &r,
            "/api/devices/444",
            "acme",
            json!({"customer": "globex"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        acme_patch(&r, "222", json!({"name": "x"})).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        acme_patch(&r, "111", json!({"customer": "globex"})).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        acme_patch(&r, "111", json!({"customer": null})).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        acme_patch(&r, "111", json!({"plate": "A-1"})).await,
        StatusCode::OK
    );
    let (st, _, _) = call(&r, Method::DELETE, "/api/devices/222", "acme", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&r, "/api/devices/222", "globex").await.1["name"],
        "Globex 1"
    );

    // A shipment cannot borrow another customer's registered vehicle.
    let planned = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let ship = |id: &str, device: &str| {
        json!({"id": id, "device": device,
               "route": {"type": "LineString", "coordinates": [[13.4, 52.5], [13.5, 52.5]]},
               "stops": [{"id": "s1", "lat": 52.5, "lon": 13.5, "planned_arrival": planned}]})
    };
    let (st, e, _) = call(
        &r,
        Method::POST,
        "/api/shipments",
        "acme",
        Some(ship("sh1", "222")),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{e}");
    let (st, e, _) = call(
        &r,
        Method::POST,
        "/api/shipments",
        "acme",
        Some(ship("sh2", "111")),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");

    // Another customer's vehicle on acme's shipment: acme sees where it is, not globex's
    // registry entry (name, notes), and cannot find it by that name.
    let (st, e, _) = call(
        &r,
        Method::POST,
        "/api/shipments",
        "acme",
        Some(ship("sh3", "555")),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    let secret =
        json!({"name": "Globex secret", "customer": "globex", "notes": "spare key in the cab"});
    assert_eq!(
        put(&r, "/api/devices/555", "ops", secret).await.0,
        StatusCode::CREATED
    );
    support::records::append(
        &r,
        &[trackgate::model::Record::Position(
            support::records::position("555", 0, 52.5, 13.4),
        )],
    )
    .await;
    let d = eventually(
        Duration::from_secs(5),
        "acme seeing vehicle 555",
        async || match get(&r, "/api/devices/555", "acme").await {
            (StatusCode::OK, d) if !d["lat"].is_null() => Ok(d),
            (st, d) => Err(format!("{st} {d}")),
        },
    )
    .await;
    assert_eq!(
        (
            d["registered"].clone(),
            d["name"].clone(),
            d["notes"].clone()
        ),
        (json!(false), Value::Null, Value::Null),
        "{d}"
    );
    assert!(search_as(&r, "q=secret", "acme").await.is_empty());
    assert_eq!(search_as(&r, "q=555", "acme").await, ["555"]);
    assert_eq!(
        get(&r, "/api/devices/555", "globex").await.1["notes"],
        "spare key in the cab"
    );
    // The same on the stream: acme gets the position without globex's name, globex with it.
    let mut streams = Vec::new();
    for who in ["acme", "globex"] {
        let resp = reqwest::Client::new()
            .get(format!("http://{}/api/stream?types=position", r.http_addr))
            .bearer_auth(format!("secret-{who}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        streams.push(resp);
    }
    support::records::append(
        &r,
        &[trackgate::model::Record::Position(
            support::records::position("555", 10, 52.6, 13.4),
        )],
    )
    .await;
    let mut buf = String::new();
    let p = next_data(&mut streams[0], &mut buf).await;
    assert_eq!(p["id"], "555");
    assert!(p.get("device_name").is_none(), "{p}");
    let mut buf = String::new();
    let p = next_data(&mut streams[1], &mut buf).await;
    assert_eq!(p["device_name"], "Globex secret");

    // Groups are shared: customers cannot change them, and read only those they use.
    let (st, _, _) = call(
        &r,
        Method::POST,
        "/api/groups",
        "acme",
        Some(json!({"id": "x"})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(
        put(&r, "/api/groups/g1", "ops", json!({})).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        put(&r, "/api/groups/g2", "ops", json!({})).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        acme_patch(&r, "111", json!({"group": "g1"})).await,
        StatusCode::OK
    );
    assert_eq!(ids(&get(&r, "/api/groups", "acme").await.1), ["g1"]);
    assert_eq!(
        get(&r, "/api/groups/g2", "acme").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(ids(&get(&r, "/api/groups", "ops").await.1), ["g1", "g2"]);
    r.shutdown().await;
}

/// `trackgate devices …` on `dir`; (exit code, stdout, stderr).
fn cli(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trackgate"))
        .arg("devices")
        .args(args)
        .env("TRACKGATE_STORAGE__DIR", dir)
        .output()
        .expect("run trackgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn csv_import_is_all_or_nothing_reaches_a_running_server_and_exports_round_trip() {
    let (r, dir) = gateway_with_dir("").await;
    assert_eq!(
        put(&r, "/api/groups/north", "ops", json!({})).await.0,
        StatusCode::CREATED
    );
    let files = temp_dir("csv");

    // A bad third row: exit 2, the line named, nothing written.
    let bad = files.join("bad.csv");
    std::fs::write(
        &bad,
        "id,name,plate,group,speed_limit_kmh\n\
         860000000000001,Truck 1,B-1,north,90\n\
         860000000000002,Truck 2,B-2,north,fast\n",
    )
    .unwrap();
    let (code, _, err) = cli(&dir, &["import", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("line 3: speed_limit_kmh: \"fast\" is not a number"),
        "{err}"
    );
    // A group that does not exist is found at import, also by line.
    let ghost = files.join("ghost.csv");
    std::fs::write(
        &ghost,
        "id,group\n860000000000001,north\n860000000000002,south\n",
    )
    .unwrap();
    let (code, _, err) = cli(&dir, &["import", ghost.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 3: group: no group \"south\""), "{err}");
    let (code, out, _) = cli(&dir, &["export"]);
    assert_eq!(code, 0);
    assert_eq!(
        out, "id,name,plate,vehicle_type,group,customer,phone,notes,speed_limit_kmh\n",
        "nothing written"
    );
    assert!(ids(&get(&r, "/api/devices", "ops").await.1).is_empty());

    // A good file: written, and the running server sees it without a restart.
    let good = files.join("good.csv");
    std::fs::write(
        &good,
        "id,name,plate,group,customer,notes,speed_limit_kmh\n\
         860000000000001,Truck 1,B-1,north,acme,\"tyres, new\",90\n\
         860000000000002,Truck 2,,,,,\n",
    )
    .unwrap();
    let (code, out, err) = cli(&dir, &["import", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), r#"{"created":2,"replaced":0,"unchanged":0}"#);
    let d = eventually(
        Duration::from_secs(5),
        "the import reaching the server",
        async || {
            let (st, d) = get(&r, "/api/devices/860000000000001", "ops").await;
            if st == StatusCode::OK {
                Ok(d)
            } else {
                Err(format!("{st} {d}"))
            }
        },
    )
    .await;
    assert_eq!(
        (
            d["name"].clone(),
            d["speed_limit_kmh"].clone(),
            d["notes"].clone()
        ),
        (json!("Truck 1"), json!(90.0), json!("tyres, new"))
    );
    assert_eq!(
        ids(&get(&r, "/api/devices", "acme").await.1),
        ["860000000000001"]
    );

    // Idempotent, and export → import changes nothing.
    let (_, out, _) = cli(&dir, &["import", good.to_str().unwrap()]);
    assert_eq!(out.trim(), r#"{"created":0,"replaced":0,"unchanged":2}"#);
    let (code, exported, _) = cli(&dir, &["export"]);
    assert_eq!(code, 0);
    assert_eq!(
        exported,
        "id,name,plate,vehicle_type,group,customer,phone,notes,speed_limit_kmh\n\
         860000000000001,Truck 1,B-1,,north,acme,,\"tyres, new\",90\n\
         860000000000002,Truck 2,,,,,,,\n"
    );
    let again = files.join("again.csv");
    std::fs::write(&again, &exported).unwrap();
    let (_, out, _) = cli(&dir, &["import", again.to_str().unwrap()]);
    assert_eq!(out.trim(), r#"{"created":0,"replaced":0,"unchanged":2}"#);
    // An API change shows in the next export.
    let (st, _, _) = call(
        &r,
        Method::PATCH,
        "/api/devices/860000000000002",
        "ops",
        Some(json!({"plate": "NEW-2"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let (_, exported, _) = cli(&dir, &["export"]);
    assert!(
        exported.ends_with("860000000000002,Truck 2,NEW-2,,,,,,\n"),
        "{exported}"
    );
    r.shutdown().await;
}

/// The next SSE `data:` of an open stream (10 s limit), as JSON.
async fn next_data(resp: &mut reqwest::Response, buf: &mut String) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if let Some(d) = block.lines().find_map(|l| l.strip_prefix("data:")) {
                return serde_json::from_str(d.trim()).expect("JSON data");
            }
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("an event within 10 s")
            .expect("stream read")
            .expect("stream open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn names_reach_the_event_history_and_the_stream() {
    use support::records::{alert, append, dev, position, DEVICE};
    use trackgate::model::{Alert, Record};
    let r = gateway("").await;
    let (st, _) = put(
        &r,
        &format!("/api/devices/{DEVICE}"),
        "ops",
        json!({"name": "Truck 9"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);

    let mut resp = reqwest::Client::new()
        .get(format!(
            "http://{}/api/stream?types=position,alert",
            r.http_addr
        ))
        .bearer_auth("secret-ops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut buf = String::new();
    let other = Alert {
        device: dev("999"),
        ..alert("a2", "sos")
    };
    append(
        &r,
        &[
            Record::Position(position(DEVICE, 0, 52.5, 13.4)),
            Record::Alert(alert("a1", "sos")),
            Record::Alert(other),
        ],
    )
    .await;
    let p = next_data(&mut resp, &mut buf).await;
    assert_eq!(
        (p["id"].clone(), p["device_name"].clone()),
        (json!(DEVICE), json!("Truck 9"))
    );
    let a = next_data(&mut resp, &mut buf).await;
    assert_eq!(
        (a["id"].clone(), a["device_name"].clone()),
        (json!("a1"), json!("Truck 9"))
    );
    let b = next_data(&mut resp, &mut buf).await;
    assert_eq!(b["id"], "a2");
    assert!(
        b.get("device_name").is_none(),
        "an unnamed device keeps the shape: {b}"
    );

    let events = eventually(
        Duration::from_secs(5),
        "both events in the history",
        async || {
            let (st, v) = get(&r, "/api/events", "ops").await;
            match v["events"].as_array() {
                Some(e) if st == StatusCode::OK && e.len() == 2 => Ok(e.clone()),
                _ => Err(format!("{st} {v}")),
            }
        },
    )
    .await;
    assert_eq!(events[0]["device_name"], "Truck 9");
    assert!(events[1].get("device_name").is_none(), "{}", events[1]);
    r.shutdown().await;
}

#[tokio::test]
async fn drivers_are_registered_and_the_current_one_shows_on_the_device_view() {
    let r = gateway("").await;
    let ann = json!({"id": "ann", "name": "Ann Driver", "key": "01a2b3c4d5e6f708"});
    let (st, d, _) = call(&r, Method::POST, "/api/drivers", "ops", Some(ann.clone())).await;
    assert_eq!(
        (st, d["key"].clone()),
        (StatusCode::CREATED, json!("01a2b3c4d5e6f708"))
    );
    let (st, _, _) = call(&r, Method::POST, "/api/drivers", "ops", Some(ann)).await;
    assert_eq!(st, StatusCode::CONFLICT, "same id");
    let (st, e) = put(
        &r,
        "/api/drivers/bob",
        "ops",
        json!({"key": "01A2B3C4D5E6F708"}),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "another driver's key, case ignored: {e}"
    );
    let (st, e) = put(&r, "/api/drivers/bob", "ops", json!({"name": "Bob"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "no key: {e}");
    assert_eq!(
        get(&r, "/api/drivers", "acme").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(ids(&get(&r, "/api/drivers", "ops").await.1), ["ann"]);

    // A Wialon IPS 1.1 tracker reports Ann's iButton (upper case) with its fix.
    let imei = "861230043907626";
    let mut s = connect(&r, "wialon").await;
    support::gateway::send_expect(&mut s, format!("#L#{imei};NA\r\n").as_bytes(), b"#AL#1\r\n")
        .await;
    let data =
        "#D#271126;040007;5544.6025;N;03739.6834;E;60;90;150;9;0.9;0;0;;01A2B3C4D5E6F708;NA\r\n";
    support::gateway::send_expect(&mut s, data.as_bytes(), b"#AD#1\r\n").await;
    let d = wait_fix(&r, imei).await;
    assert_eq!(d["driver_key"], "01A2B3C4D5E6F708");
    assert_eq!(d["driver"], json!({"id": "ann", "name": "Ann Driver"}));

    // Forgotten driver: the key stays, no driver.
    let (st, _, _) = call(&r, Method::DELETE, "/api/drivers/ann", "ops", None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (_, d) = get(&r, &format!("/api/devices/{imei}"), "ops").await;
    assert_eq!(
        (d["driver_key"].clone(), d["driver"].clone()),
        (json!("01A2B3C4D5E6F708"), Value::Null)
    );
    r.shutdown().await;
}

#[tokio::test]
async fn a_customer_registers_at_most_its_quota_of_devices() {
    let r = gateway("[devices]\nmax_registered_per_customer = 1\n").await;
    assert_eq!(
        put(&r, "/api/devices/1", "acme", json!({})).await.0,
        StatusCode::CREATED
    );
    let (st, e) = put(&r, "/api/devices/2", "acme", json!({})).await;
    assert_eq!(st, StatusCode::CONFLICT, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("devices.max_registered_per_customer"),
        "{e}"
    );
    assert_eq!(
        put(&r, "/api/devices/1", "acme", json!({"name": "a"}))
            .await
            .0,
        StatusCode::OK,
        "replacing is not a new device"
    );
    assert_eq!(
        put(&r, "/api/devices/2", "globex", json!({})).await.0,
        StatusCode::CREATED,
        "per customer"
    );
    assert_eq!(
        put(&r, "/api/devices/3", "ops", json!({"customer": "acme"}))
            .await
            .0,
        StatusCode::CREATED,
        "ops are not limited"
    );
    r.shutdown().await;
}
