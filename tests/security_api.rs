//! API access control as an attacker meets it: every route without a token, with a token
//! lacking the scope, and with it (a table test over the router: a route added without a
//! declared access fails here); tokens created, listed and revoked through the admin API;
//! the audit trail; the safe default on non-loopback addresses; cross-site requests.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::gateway::test_config;
use trackgate::api::auth::config::TokenConfig;
use trackgate::api::auth::tokens::sha256_hex;
use trackgate::api::auth::{Access, Scope};
use trackgate::api::RouteSpec;
use trackgate::config::Config;
use trackgate::server::{self, Running};

/// One token per scope, named after it; its secret is `secret-<scope>`.
fn tokens_config() -> Config {
    let mut cfg = test_config("");
    cfg.api.tokens = Scope::ALL
        .iter()
        .map(|s| TokenConfig {
            name: s.as_str().into(),
            token_sha256: Some(sha256_hex(&secret(*s)).into()),
            scopes: vec![*s],
            ..TokenConfig::default()
        })
        .collect();
    cfg.http.cors_origins = vec!["https://ops.example.com".into()];
    cfg
}

fn secret(s: Scope) -> String {
    format!("secret-{s}")
}

async fn call(
    r: &Running,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new().request(method, format!("http://{}{}", r.http_addr, path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let (status, headers) = (resp.status(), resp.headers().clone());
    // An accepted event stream never ends: its headers are the answer.
    if headers
        .get("content-type")
        .is_some_and(|v| v == "text/event-stream")
    {
        return (status, headers, String::new());
    }
    (status, headers, resp.text().await.unwrap_or_default())
}

/// A concrete path for a route pattern.
fn concrete(path: &str) -> String {
    ["{id}", "{name}", "{token}", "{version}", "{file}"]
        .iter()
        .fold(path.to_string(), |p, k| p.replace(k, "nope"))
}

/// A public route answers without a token: a made-up file or link is not found, never
/// unauthorized.
async fn public_answers(r: &Running, spec: &RouteSpec, path: &str, body: Option<Value>) {
    let (st, _, _) = call(r, spec.method.clone(), path, None, body).await;
    let expect = if path.contains("nope") {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    assert_eq!(st, expect, "{} {path} is public", spec.method);
}

#[tokio::test]
async fn every_route_refuses_missing_tokens_and_missing_scopes() {
    let r = server::start(tokens_config()).await.expect("start");
    let table = trackgate::api::route_table();
    assert!(table.len() >= 15, "the table lists every route");
    let public: Vec<&str> = table
        .iter()
        .filter(|s| s.access == Access::Public)
        .map(|s| s.path)
        .collect();
    // Besides health: the console's page and files (they hold no data; the page's API calls
    // carry the token) and customer tracking links (the token in the path is the credential).
    assert_eq!(
        public,
        [
            "/healthz",
            "/",
            "/console/{version}/{file}",
            "/track/{token}",
            "/track/{token}/data",
            "/track/{token}/stream"
        ],
        "the only routes open without a token"
    );
    let any_token: Vec<&str> = table
        .iter()
        .filter(|s| s.access == Access::Token)
        .map(|s| s.path)
        .collect();
    assert_eq!(
        any_token,
        ["/api/whoami"],
        "the only routes open to a token of any scope"
    );
    for spec in &table {
        let path = concrete(spec.path);
        let body = (spec.method == Method::POST).then(|| json!({}));
        let needed = match spec.access {
            Access::Scope(s) => Some(s),
            Access::Token => None,
            Access::Public => {
                public_answers(&r, spec, &path, body).await;
                continue;
            }
        };
        let (st, headers, _) = call(&r, spec.method.clone(), &path, None, body.clone()).await;
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "{} {path} without a token",
            spec.method
        );
        assert_eq!(headers["www-authenticate"], "Bearer");
        let (st, _, _) = call(
            &r,
            spec.method.clone(),
            &path,
            Some("tg_forged"),
            body.clone(),
        )
        .await;
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "{} {path} with a forged token",
            spec.method
        );
        for s in Scope::ALL {
            let (st, _, text) = call(
                &r,
                spec.method.clone(),
                &path,
                Some(&secret(s)),
                body.clone(),
            )
            .await;
            if needed.is_none_or(|n| n == s) || s == Scope::Admin {
                assert!(
                    st != StatusCode::UNAUTHORIZED && st != StatusCode::FORBIDDEN,
                    "{} {path} with {s}: {st} {text}",
                    spec.method
                );
            } else {
                let needed = needed.map(Scope::as_str).unwrap_or_default();
                assert_eq!(st, StatusCode::FORBIDDEN, "{} {path} with {s}", spec.method);
                assert!(text.contains(needed), "403 names the scope: {text}");
            }
        }
    }
    r.shutdown().await;
}

#[tokio::test]
async fn whoami_tells_any_token_its_name_scopes_and_customer() {
    let r = server::start(tokens_config()).await.expect("start");
    let whoami = async |token: &str| {
        let (st, _, text) = call(&r, Method::GET, "/api/whoami", Some(token), None).await;
        assert_eq!(st, StatusCode::OK, "{text}");
        serde_json::from_str::<Value>(&text).expect("json")
    };
    assert_eq!(
        whoami(&secret(Scope::Metrics)).await,
        json!({"name": "metrics", "scopes": ["metrics"], "customer": null})
    );
    assert_eq!(
        whoami(&secret(Scope::Read)).await,
        json!({"name": "read", "scopes": ["read"], "customer": null})
    );
    // admin may do everything: said as every scope, so a client needs no rule of its own.
    assert_eq!(
        whoami(&secret(Scope::Admin)).await["scopes"],
        json!(["admin", "read", "write", "commands", "metrics"])
    );
    let (st, _, text) = call(
        &r,
        Method::POST,
        "/api/tokens",
        Some(&secret(Scope::Admin)),
        Some(json!({"name": "acme-portal", "scopes": ["read"], "customer": "acme"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        whoami(created["token"].as_str().unwrap()).await,
        json!({"name": "acme-portal", "scopes": ["read"], "customer": "acme"})
    );
    r.shutdown().await;
    // Without tokens (loopback): the anonymous caller, who may do everything.
    let r = server::start(test_config("")).await.expect("start");
    let (st, _, text) = call(&r, Method::GET, "/api/whoami", None, None).await;
    assert_eq!(st, StatusCode::OK);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["name"].as_str(), v["scopes"][2].as_str()),
        (Some("anonymous"), Some("write"))
    );
    r.shutdown().await;
}

#[tokio::test]
async fn tokens_are_created_shown_once_listed_without_secrets_and_revoked_with_audit() {
    let r = server::start(tokens_config()).await.expect("start");
    let admin = secret(Scope::Admin);
    let (st, _, text) = call(
        &r,
        Method::POST,
        "/api/tokens",
        Some(&admin),
        Some(json!({"name": "dispatch", "scopes": ["read"]})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let token = created["token"]
        .as_str()
        .expect("token shown once")
        .to_string();
    let (st, _, _) = call(&r, Method::GET, "/api/devices", Some(&token), None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = call(
        &r,
        Method::POST,
        "/api/shipments",
        Some(&token),
        Some(json!({})),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "read token cannot write");
    let (_, _, list) = call(&r, Method::GET, "/api/tokens", Some(&admin), None).await;
    assert!(list.contains("\"dispatch\"") && !list.contains(&token));
    assert!(
        !list.contains(&sha256_hex(&token)),
        "not even the hash is listed"
    );
    let (st, _, _) = call(
        &r,
        Method::DELETE,
        "/api/tokens/dispatch",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _, _) = call(&r, Method::GET, "/api/devices", Some(&token), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "revoked");
    let (st, _, _) = call(&r, Method::DELETE, "/api/tokens/read", Some(&admin), None).await;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "config tokens are removed in the config"
    );
    // The audit trail names who did what, never a token.
    let audit = support::poll::eventually(
        std::time::Duration::from_secs(5),
        "three audit entries",
        || async {
            let (_, _, t) = call(&r, Method::GET, "/api/audit", Some(&admin), None).await;
            let v: Value = serde_json::from_str(&t).unwrap_or_default();
            let n = v["entries"].as_array().map_or(0, Vec::len);
            if n >= 4 {
                Ok(v)
            } else {
                Err(t)
            }
        },
    )
    .await;
    let entries = audit["entries"].as_array().unwrap();
    let summary: Vec<(String, String, String, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["who"].as_str().unwrap().to_string(),
                e["method"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("admin".into(), "POST".into(), "/api/tokens".into(), 201),
            (
                "dispatch".into(),
                "POST".into(),
                "/api/shipments".into(),
                403
            ),
            (
                "admin".into(),
                "DELETE".into(),
                "/api/tokens/dispatch".into(),
                204
            ),
            (
                "admin".into(),
                "DELETE".into(),
                "/api/tokens/read".into(),
                409
            ),
        ]
    );
    assert!(!audit.to_string().contains(&token));
    r.shutdown().await;
}

#[tokio::test]
async fn the_stream_takes_the_token_in_the_query_for_eventsource() {
    let r = server::start(tokens_config()).await.expect("start");
    let base = format!("http://{}/api/stream", r.http_addr);
    let bad = reqwest::get(format!("{base}?access_token=nope"))
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let none = reqwest::get(&base).await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let ok = reqwest::get(format!("{base}?access_token={}", secret(Scope::Read)))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["content-type"], "text/event-stream");
    // Only the stream: another route does not read tokens from the query.
    let other = reqwest::get(format!(
        "http://{}/api/devices?access_token={}",
        r.http_addr,
        secret(Scope::Read)
    ))
    .await
    .unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    r.shutdown().await;
}

#[tokio::test]
async fn without_tokens_only_loopback_is_served() {
    let mut open = test_config("");
    open.http.listen = "0.0.0.0:0".parse().unwrap();
    let err = match server::start(open).await {
        Ok(_) => panic!("a non-loopback API without tokens must not start"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("trackgate token new"), "{err}");
    let mut guarded = tokens_config();
    guarded.http.listen = "0.0.0.0:0".parse().unwrap();
    let r = server::start(guarded)
        .await
        .expect("with a token it starts");
    r.shutdown().await;
    // Loopback without tokens: anonymous callers may do everything (the quick start).
    let r = server::start(test_config("")).await.expect("start");
    let (st, _, _) = call(&r, Method::GET, "/api/tokens", None, None).await;
    assert_eq!(st, StatusCode::OK);
    r.shutdown().await;
}

#[tokio::test]
async fn cross_site_requests_need_json_and_a_listed_origin() {
    let r = server::start(tokens_config()).await.expect("start");
    let url = format!("http://{}/api/shipments", r.http_addr);
    let form = reqwest::Client::new()
        .post(&url)
        .bearer_auth(secret(Scope::Write))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("id=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let preflight = |origin: &'static str| {
        reqwest::Client::new()
            .request(Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let listed = preflight("https://ops.example.com").await.unwrap();
    assert_eq!(
        listed.headers()["access-control-allow-origin"],
        "https://ops.example.com"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    r.shutdown().await;
}
