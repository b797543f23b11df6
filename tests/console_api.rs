//! The console's HTTP side without a browser: the embedded page and files (compression,
//! ETags, caching), customer links (validation, expiry, revocation, what the customer JSON
//! leaves out), acknowledgements (errors, the notice every open console gets) and the
//! shipment history, against a real gateway with a GT06 device over TCP.

mod console_support;
mod support;

use console_support::late;
use reqwest::header;
use serde_json::{json, Value};
use std::time::Duration;
use support::{eventually, gateway};

const TRUCK: &str = "356307042441099";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_and_its_files_are_embedded_compressed_and_cached() {
    let r = gateway::start("").await;
    let http = reqwest::Client::builder().build().expect("client");
    let base = format!("http://{}", r.http_addr);
    let page = http.get(&base).send().await.expect("get /");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    let main = html
        .split('"')
        .find(|s| s.starts_with("/console/") && s.ends_with("/main.js"))
        .expect("versioned main.js")
        .to_string();

    // br and gzip as the client accepts; identity otherwise; 304 on the ETag.
    for (accept, enc) in [
        ("gzip, deflate, br", Some("br")),
        ("gzip", Some("gzip")),
        ("identity", None),
    ] {
        let resp = http
            .get(format!("{base}{main}"))
            .header(header::ACCEPT_ENCODING, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            enc,
            "{accept}"
        );
        assert_eq!(
            resp.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert!(resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
    }
    let first = http.get(format!("{base}{main}")).send().await.unwrap();
    let etag = first.headers()[header::ETAG].clone();
    let body = first.text().await.unwrap();
    assert!(body.contains("LiveStream"), "the real module");
    let again = http
        .get(format!("{base}{main}"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Another build's prefix still answers, but must be revalidated.
    let old = http
        .get(format!("{base}/console/0000/main.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            old.status().as_u16(),
            old.headers()[header::CACHE_CONTROL].to_str().unwrap()
        ),
        (200, "no-cache")
    );
    assert_eq!(
        http.get(format!("{base}/console/0000/nope.js"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    r.shutdown().await;
}

async fn send(
    r: &trackgate::server::Running,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("http://{}{path}", r.http_addr));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_acks_and_history_of_a_late_shipment() {
    let r = gateway::start("").await;
    let t0 = late::t0();
    assert_eq!(
        late::post_json(&r, "/api/shipments", &late::shipment("sh1", TRUCK, t0))
            .await
            .0,
        201
    );

    // An open console's notice stream, before anything is acknowledged.
    let notices = reqwest::get(format!("http://{}/api/console/notices", r.http_addr))
        .await
        .expect("notices");
    assert_eq!(notices.status(), 200);
    let mut notices = notices;

    late::drive(&r, TRUCK, t0, &late::late_trip()).await;
    let late_id = eventually(Duration::from_secs(10), "late exception open", async || {
        let (_, v) = gateway::get_json(&r, "/api/exceptions?status=open&type=late").await;
        v["exceptions"][0]["id"].as_str().map(String::from).ok_or(v)
    })
    .await;

    // Acknowledgement: unknown 404, not-an-exception 409, once, then 409 with the first.
    let ack = |id: &str| format!("/api/exceptions/{}/ack", urlencode(id));
    assert_eq!(
        send(&r, reqwest::Method::POST, &ack("nope"), Some(json!({})))
            .await
            .0,
        404
    );
    let (_, all) = gateway::get_json(&r, "/api/events?type=arrived").await;
    let arrived = all["events"][0]["id"]
        .as_str()
        .expect("arrival event")
        .to_string();
    assert_eq!(
        send(&r, reqwest::Method::POST, &ack(&arrived), Some(json!({})))
            .await
            .0,
        409
    );
    let (st, v) = send(
        &r,
        reqwest::Method::POST,
        &ack(&late_id),
        Some(json!({"note": "  customer told  "})),
    )
    .await;
    assert_eq!(
        (st, v["ack"]["by"].as_str(), v["ack"]["note"].as_str()),
        (200, Some("anonymous"), Some("customer told")),
        "{v}"
    );
    let (st, v) = send(
        &r,
        reqwest::Method::POST,
        &ack(&late_id),
        Some(json!({"note": "again"})),
    )
    .await;
    assert_eq!(
        (st, v["ack"]["note"].as_str()),
        (409, Some("customer told"))
    );
    let (st, _) = send(
        &r,
        reqwest::Method::POST,
        &ack(&late_id),
        Some(json!({"note": "x".repeat(2001)})),
    )
    .await;
    assert_eq!(st, 400);
    let text = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = String::new();
        while !buf.contains("event: ack") || !buf.contains("\n\n") {
            let chunk = notices
                .chunk()
                .await
                .expect("chunk")
                .expect("notice stream open");
            buf.push_str(&String::from_utf8_lossy(&chunk));
        }
        buf
    })
    .await
    .expect("the ack notice within 5 s");
    assert!(
        text.contains(&late_id) && text.contains("customer told"),
        "{text}"
    );
    let (_, open) = gateway::get_json(&r, "/api/exceptions").await;
    assert_eq!(open["open"], 0, "{open}");

    // History: the route and stops with coordinates, the trail, the ETA series of S1.
    let (st, h) = gateway::get_json(&r, "/api/shipments/sh1/history").await;
    assert_eq!(st, 200);
    assert_eq!(h["stops"][1]["name"], "Customer");
    assert_eq!(h["route"].as_array().map(Vec::len), Some(2));
    let s1 = h["eta"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stop"] == "S1")
        .expect("S1 series")
        .clone();
    let samples = s1["samples"].as_array().unwrap();
    assert!(
        samples.len() >= 20,
        "one sample per published ETA: {}",
        samples.len()
    );
    let (first, last) = (&samples[0], &samples[samples.len() - 1]);
    assert!(
        last[1].as_i64() > first[1].as_i64(),
        "the slip is visible: {first} → {last}"
    );
    assert!(h["trail"].as_array().unwrap().len() >= 5);
    assert_eq!(
        gateway::get_json(&r, "/api/shipments/nope/history").await.0,
        404
    );

    // Links: bad lifetimes are 400 naming the field, unknown shipment 404.
    let share = "/api/shipments/sh1/share";
    for bad in [
        json!({"expires_in": "forever"}),
        json!({"expires_in": 0}),
        json!({"expires_in": "400d"}),
        json!({"ttl": 5}),
    ] {
        let (st, v) = send(&r, reqwest::Method::POST, share, Some(bad.clone())).await;
        assert_eq!(st, 400, "{bad} → {v}");
    }
    assert_eq!(
        send(&r, reqwest::Method::POST, "/api/shipments/nope/share", None)
            .await
            .0,
        404
    );
    let (st, link) = send(&r, reqwest::Method::POST, share, None).await;
    assert_eq!(st, 201, "{link}");
    let url = link["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with("/track/") && url.len() == "/track/".len() + 40,
        "{url}"
    );
    let (st, data) = gateway::get_json(&r, &format!("{url}/data")).await;
    assert_eq!(st, 200);
    let text = data.to_string();
    assert!(
        !text.contains(TRUCK) && data.get("exceptions").is_none() && data.get("device").is_none(),
        "{text}"
    );
    assert_eq!(data["stops"][1]["status"], "late");
    assert!(
        data["stops"][1]["eta_p90"].is_string() && data["vehicle"]["lat"].is_number(),
        "{text}"
    );
    let (_, list) = gateway::get_json(&r, "/api/shipments/sh1/shares").await;
    assert_eq!(
        (list[0]["id"].clone(), list[0]["valid"].clone()),
        (link["id"].clone(), json!(true))
    );
    assert!(
        !list.to_string().contains(&url[7..]),
        "tokens are never listed"
    );

    // Revoked: 404 on the page, the data and the stream; the list says who.
    let (st, v) = send(
        &r,
        reqwest::Method::DELETE,
        &format!("/api/shares/{}", link["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(
        (st, v["revoked_by"].as_str(), v["valid"].as_bool()),
        (200, Some("anonymous"), Some(false))
    );
    for p in ["", "/data", "/stream"] {
        assert_eq!(
            gateway::get_json(&r, &format!("{url}{p}")).await.0,
            404,
            "{p}"
        );
    }
    assert_eq!(
        send(&r, reqwest::Method::DELETE, "/api/shares/nope", None)
            .await
            .0,
        404
    );

    // Expiry: a one-second link stops working by itself.
    let (_, short) = send(
        &r,
        reqwest::Method::POST,
        share,
        Some(json!({"expires_in": 1})),
    )
    .await;
    let short = short["url"].as_str().unwrap().to_string();
    eventually(Duration::from_secs(5), "the link expires", async || {
        gateway::get_json(&r, &format!("{short}/data")).await.0 == 404
    })
    .await;
    r.shutdown().await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_access_control_acks_and_links_name_the_token_and_need_write() {
    use trackgate::api::auth::config::TokenConfig;
    use trackgate::api::auth::tokens::sha256_hex;
    use trackgate::api::auth::Scope;
    let mut cfg = gateway::test_config("");
    cfg.api.tokens = [
        ("ops", vec![Scope::Read, Scope::Write]),
        ("viewer", vec![Scope::Read]),
    ]
    .into_iter()
    .map(|(name, scopes)| TokenConfig {
        name: name.into(),
        token_sha256: Some(sha256_hex(&format!("secret-{name}")).into()),
        scopes,
        ..TokenConfig::default()
    })
    .collect();
    let r = trackgate::server::start(cfg).await.expect("server starts");
    let base = format!("http://{}", r.http_addr);
    let http = reqwest::Client::new();
    let call = async |method: reqwest::Method, path: &str, token: Option<&str>| {
        let mut req = http.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(format!("secret-{t}"));
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_string());
        let body = if ct.as_deref() == Some("text/event-stream") {
            Value::Null
        } else {
            resp.json().await.unwrap_or(Value::Null)
        };
        (status, body)
    };
    // The page is public; the data behind it is not.
    assert_eq!(call(reqwest::Method::GET, "/", None).await.0, 200);
    assert_eq!(
        call(reqwest::Method::GET, "/api/exceptions", None).await.0,
        401
    );
    assert_eq!(
        call(reqwest::Method::GET, "/api/console/notices", None)
            .await
            .0,
        401
    );
    // EventSource cannot send headers: the notices take the token in the query, like /api/stream.
    assert_eq!(
        call(
            reqwest::Method::GET,
            "/api/console/notices?access_token=secret-viewer",
            None
        )
        .await
        .0,
        200
    );

    let t0 = late::t0();
    let resp = http
        .post(format!("{base}/api/shipments"))
        .bearer_auth("secret-ops")
        .json(&late::shipment("sh1", TRUCK, t0))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 201);
    late::drive(&r, TRUCK, t0, &late::late_trip()).await;
    let id = eventually(Duration::from_secs(10), "late exception", async || {
        let (_, v) = call(
            reqwest::Method::GET,
            "/api/exceptions?type=late",
            Some("viewer"),
        )
        .await;
        v["exceptions"][0]["id"].as_str().map(String::from).ok_or(v)
    })
    .await;
    let ack = format!("/api/exceptions/{}/ack", urlencode(&id));
    assert_eq!(
        call(reqwest::Method::POST, &ack, Some("viewer")).await.0,
        403
    );
    let (st, v) = call(reqwest::Method::POST, &ack, Some("ops")).await;
    assert_eq!((st, v["ack"]["by"].as_str()), (200, Some("ops")), "{v}");

    let share = "/api/shipments/sh1/share";
    assert_eq!(
        call(reqwest::Method::POST, share, Some("viewer")).await.0,
        403
    );
    let (st, link) = call(reqwest::Method::POST, share, Some("ops")).await;
    assert_eq!(
        (st, link["created_by"].as_str()),
        (201, Some("ops")),
        "{link}"
    );
    // The customer needs no token: the link is the credential.
    let url = link["url"].as_str().unwrap();
    assert_eq!(
        call(reqwest::Method::GET, &format!("{url}/data"), None)
            .await
            .0,
        200
    );
    let revoke = format!("/api/shares/{}", link["id"].as_str().unwrap());
    assert_eq!(
        call(reqwest::Method::DELETE, &revoke, Some("viewer"))
            .await
            .0,
        403
    );
    let (st, v) = call(reqwest::Method::DELETE, &revoke, Some("ops")).await;
    assert_eq!((st, v["revoked_by"].as_str()), (200, Some("ops")));
    assert_eq!(
        call(reqwest::Method::GET, &format!("{url}/data"), None)
            .await
            .0,
        404
    );
    r.shutdown().await;
}
