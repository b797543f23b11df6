//! Downlink commands end to end over real sockets: a command queued through the API while
//! its device is offline reaches the device when it logs in, byte for byte as built here
//! independently (CRCs from the `crc` crate's catalogue, not trackgate's encoders); the
//! device's answer moves it to `acknowledged` with the answer's text. GT06, Teltonika and
//! JT/T 808; a command queued while the device is connected goes out after its next frame;
//! a queued command survives a restart; cancel, confirm and the 4xx answers.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::gateway::{
    connect, expect_silence, gt06_login, jt808_auth, jt808_register, read_jt808, read_n,
    send_expect, test_config,
};
use support::wire::{arc, gt06_ack, gt06_frame, jt808_frame, GT06_IMEI};
use support::{eventually, gateway};
use tokio::io::AsyncWriteExt;
use trackgate::server::{self, Running};

/// A GT06 command reply 0x15 takes a loaded CI machine this long at most.
const LIMIT: Duration = Duration::from_secs(5);

async fn post(r: &Running, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("http://{}{}", r.http_addr, path))
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn delete(r: &Running, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .delete(format!("http://{}{}", r.http_addr, path))
        .send()
        .await
        .expect("DELETE");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Queues a command and returns its id, checking the 202 body.
async fn queue(r: &Running, device: &str, body: Value) -> u64 {
    let (status, v) = post(r, &format!("/api/devices/{device}/commands"), body.clone()).await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["status"], "queued", "{v}");
    // The device as its connections name it (JT/T 808 ids keep their leading zeros).
    let stored = v["device"].as_str().expect("device");
    assert_eq!(
        stored.trim_start_matches('0'),
        device.trim_start_matches('0')
    );
    assert_eq!(v["type"], body["type"]);
    assert!(v["created"].is_string(), "{v}");
    v["id"].as_u64().expect("numeric id")
}

/// Waits until command `id` has `status`; returns its view.
async fn wait_status(r: &Running, id: u64, status: &str) -> Value {
    eventually(LIMIT, &format!("command {id} {status}"), async || {
        let (code, v) = gateway::get_json(r, &format!("/api/commands/{id}")).await;
        if code == 200 && v["status"] == status {
            Ok(v)
        } else {
            Err(format!("{code} {v}"))
        }
    })
    .await
}

/// The GT06 0x80 frame the device must receive: CMDLEN, server flag = command id, ASCII,
/// language 0x0002 (English), frame serial = low 16 bits of the id.
fn gt06_command(id: u64, text: &str) -> Vec<u8> {
    let mut c = vec![(4 + text.len()) as u8];
    c.extend_from_slice(&(id as u32).to_be_bytes());
    c.extend_from_slice(text.as_bytes());
    c.extend_from_slice(&[0x00, 0x02]);
    gt06_frame(0x80, &c, id as u16)
}

/// The device's 0x15 answer echoing server flag `flag`.
fn gt06_answer(flag: u64, text: &str, serial: u16) -> Vec<u8> {
    let mut c = vec![(4 + text.len()) as u8];
    c.extend_from_slice(&(flag as u32).to_be_bytes());
    c.extend_from_slice(text.as_bytes());
    c.extend_from_slice(&[0x00, 0x02]);
    gt06_frame(0x15, &c, serial)
}

#[tokio::test]
async fn gt06_command_queued_offline_is_delivered_at_login_and_acknowledged() {
    let r = gateway::start("").await;
    let id = queue(
        &r,
        GT06_IMEI,
        json!({"type": "engine_stop", "confirm": true, "protocol": "gt06"}),
    )
    .await;
    let (_, v) = gateway::get_json(&r, &format!("/api/commands/{id}")).await;
    assert_eq!(v["status"], "queued");
    assert_eq!(v["requested_by"], "anonymous");

    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    let want = gt06_command(id, "DYD,000000#");
    assert_eq!(
        hex::encode(read_n(&mut s, want.len()).await),
        hex::encode(&want)
    );
    let v = wait_status(&r, id, "sent").await;
    assert!(v["sent"].is_string(), "{v}");

    // The device answers with 0x15; it gets its standard ACK and the command its answer.
    send_expect(
        &mut s,
        &gt06_answer(id, "DYD=Success!", 2),
        &gt06_ack(0x15, 2),
    )
    .await;
    let v = wait_status(&r, id, "acknowledged").await;
    assert_eq!(v["answer"], "DYD=Success!", "{v}");
    assert_eq!(v["answer_hex"], hex::encode("DYD=Success!"));
    // Both transitions are events, like every alert (here read back from /api/events).
    let path = format!("/api/events?device={GT06_IMEI}");
    eventually(LIMIT, "command events", async || {
        let (_, v) = gateway::get_json(&r, &path).await;
        let types: Vec<String> = v["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["value"].as_f64() == Some(id as f64))
            .filter_map(|e| e["type"].as_str().map(String::from))
            .collect();
        if types == ["command_sent", "command_acknowledged"] {
            Ok(())
        } else {
            Err(format!("{types:?} in {v}"))
        }
    })
    .await;
    // Each transition is counted.
    for status in ["queued", "sent", "acknowledged"] {
        let series = format!("trackgate_commands_total{{protocol=\"gt06\",status=\"{status}\"}}");
        assert_eq!(gateway::metric(&r, &series), Some(1.0), "{series}");
    }
    // The answer was decoded like any frame (counted, not as a bad one).
    let frames = gateway::metric(&r, "trackgate_frames_total{protocol=\"gt06\"}");
    assert_eq!(frames, Some(2.0), "login and the answer");
    let bad = gateway::metric(&r, "trackgate_decode_errors_total{protocol=\"gt06\"}");
    assert!(bad.is_none_or(|b| b == 0.0), "{bad:?}");
    r.shutdown().await;
}

#[tokio::test]
async fn gt06_command_queued_while_connected_goes_out_after_the_next_frame() {
    let r = gateway::start("").await;
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    gateway::wait_device(&r, GT06_IMEI, |_| true).await;
    // Known device: no protocol needed.
    let id = queue(
        &r,
        GT06_IMEI,
        json!({"type": "set_interval", "params": {"seconds": 30}}),
    )
    .await;
    // Heartbeat 0x13 (terminal info, voltage, GSM, language): its ACK, then the command.
    let hb = gt06_frame(0x13, &[0x40, 0x04, 0x04, 0x00, 0x02], 3);
    send_expect(&mut s, &hb, &gt06_ack(0x13, 3)).await;
    let want = gt06_command(id, "TIMER,30#");
    assert_eq!(
        hex::encode(read_n(&mut s, want.len()).await),
        hex::encode(&want)
    );
    wait_status(&r, id, "sent").await;
    // Nothing else is queued: the next heartbeat gets only its ACK.
    send_expect(
        &mut s,
        &gt06_frame(0x13, &[0x40, 0x04, 0x04, 0x00, 0x02], 4),
        &gt06_ack(0x13, 4),
    )
    .await;
    expect_silence(&mut s, 300).await;
    r.shutdown().await;
}

#[tokio::test]
async fn a_queued_command_survives_a_restart() {
    let dir = gateway::temp_dir("commands-restart");
    let mut cfg = test_config("");
    cfg.storage.dir = dir.clone();
    let r = server::start(cfg).await.expect("start");
    let id = queue(
        &r,
        GT06_IMEI,
        json!({"type": "reboot", "protocol": "gt06", "ttl": "1h"}),
    )
    .await;
    r.shutdown().await;

    let mut cfg = test_config("");
    cfg.storage.dir = dir;
    let r = server::start(cfg).await.expect("restart");
    let (_, v) = gateway::get_json(&r, &format!("/api/commands/{id}")).await;
    assert_eq!(v["status"], "queued", "{v}");
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    let want = gt06_command(id, "RESET#");
    assert_eq!(
        hex::encode(read_n(&mut s, want.len()).await),
        hex::encode(&want)
    );
    wait_status(&r, id, "sent").await;
    r.shutdown().await;
}

#[tokio::test]
async fn cancel_confirm_and_refusals() {
    let mut cfg = test_config("");
    cfg.commands.max_open_per_device = 1;
    let r = server::start(cfg).await.expect("start");
    let path = format!("/api/devices/{GT06_IMEI}/commands");
    // engine_stop needs confirm.
    let (st, v) = post(
        &r,
        &path,
        json!({"type": "engine_stop", "protocol": "gt06"}),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("confirm"), "{v}");
    // Never seen and no protocol: 404.
    let (st, v) = post(&r, &path, json!({"type": "reboot"})).await;
    assert_eq!(st, 404, "{v}");
    // A type the protocol lacks: 400 naming the protocol and what it supports.
    let (st, v) = post(
        &r,
        "/api/devices/356307042441013/commands",
        json!({"type": "set_interval", "params": {"seconds": 60}, "protocol": "teltonika"}),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("teltonika") && e.contains("engine_stop, engine_resume"),
        "{e}"
    );
    // A protocol without commands, an unknown type, bad params, bad JSON.
    let (st, v) = post(
        &r,
        "/api/devices/x1/commands",
        json!({"type": "reboot", "protocol": "osmand"}),
    )
    .await;
    assert_eq!(st, 400, "{v}");
    let (st, _) = post(
        &r,
        &path,
        json!({"type": "self_destruct", "protocol": "gt06"}),
    )
    .await;
    assert_eq!(st, 400);
    let (st, _) = post(
        &r,
        &path,
        json!({"type": "set_interval", "params": {"seconds": -1}, "protocol": "gt06"}),
    )
    .await;
    assert_eq!(st, 400);
    let resp = reqwest::Client::new()
        .post(format!("http://{}{}", r.http_addr, path))
        .header("content-type", "application/json")
        .body("{\"type\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(v["error"].is_string(), "{v}");

    // Cancel a queued one: it never reaches the device.
    let id = queue(
        &r,
        GT06_IMEI,
        json!({"type": "position_request", "protocol": "gt06"}),
    )
    .await;
    let (st, v) = delete(&r, &format!("/api/commands/{id}")).await;
    assert_eq!((st, v["status"].as_str()), (200, Some("cancelled")), "{v}");
    let (st, _) = delete(&r, &format!("/api/commands/{id}")).await;
    assert_eq!(st, 409);
    let (st, _) = delete(&r, "/api/commands/999999").await;
    assert_eq!(st, 404);
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    expect_silence(&mut s, 300).await;

    // Sent ones cannot be cancelled.
    let id2 = queue(
        &r,
        GT06_IMEI,
        json!({"type": "custom", "params": {"text": "STATUS#"}}),
    )
    .await;
    send_expect(
        &mut s,
        &gt06_frame(0x13, &[0x40, 0x04, 0x04, 0x00, 0x02], 5),
        &gt06_ack(0x13, 5),
    )
    .await;
    let want = gt06_command(id2, "STATUS#");
    assert_eq!(
        hex::encode(read_n(&mut s, want.len()).await),
        hex::encode(&want)
    );
    wait_status(&r, id2, "sent").await;
    let (st, v) = delete(&r, &format!("/api/commands/{id2}")).await;
    assert_eq!(st, 409, "{v}");
    // commands.max_open_per_device = 1: the sent, unanswered one fills the device's queue.
    let (st, v) = post(&r, &path, json!({"type": "reboot"})).await;
    assert_eq!(st, 409, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("max_open_per_device"),
        "{v}"
    );

    // The device's list, in queue order, paged.
    let (st, v) = gateway::get_json(&r, &format!("{path}?limit=1")).await;
    assert_eq!(st, 200);
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    assert_eq!(v[0]["id"].as_u64(), Some(id));
    let (_, v) = gateway::get_json(&r, &format!("{path}?after={id}")).await;
    assert_eq!(v[0]["id"].as_u64(), Some(id2), "{v}");
    r.shutdown().await;
}

/// A Teltonika TCP packet (preamble, length, data, CRC-16/ARC in a u32).
fn teltonika_packet(data: &[u8]) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0];
    p.extend_from_slice(&(data.len() as u32).to_be_bytes());
    p.extend_from_slice(data);
    p.extend_from_slice(&u32::from(arc(data)).to_be_bytes());
    p
}

/// Codec 12 data of `kind` (0x05 command, 0x06 response) carrying `payload`.
fn codec12(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0x0C, 0x01, kind];
    d.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    d.extend_from_slice(payload);
    d.push(0x01);
    teltonika_packet(&d)
}

#[tokio::test]
async fn teltonika_codec12_command_and_response() {
    let r = gateway::start("").await;
    let imei = "356307042441013";
    let id = queue(
        &r,
        imei,
        json!({"type": "engine_resume", "protocol": "teltonika"}),
    )
    .await;
    let mut s = connect(&r, "teltonika").await;
    let mut hs = vec![0x00, 0x0F];
    hs.extend_from_slice(imei.as_bytes());
    send_expect(&mut s, &hs, &[0x01]).await;
    let want = codec12(0x05, b"setdigout 0");
    assert_eq!(
        hex::encode(read_n(&mut s, want.len()).await),
        hex::encode(&want)
    );
    wait_status(&r, id, "sent").await;
    s.write_all(&codec12(0x06, b"DOUT1:0 DOUT2:0"))
        .await
        .unwrap();
    let v = wait_status(&r, id, "acknowledged").await;
    assert_eq!(v["answer"], "DOUT1:0 DOUT2:0", "{v}");
    // Codec 12 responses get no answer.
    expect_silence(&mut s, 300).await;
    r.shutdown().await;
}

#[tokio::test]
async fn jt808_terminal_control_after_authentication_and_general_response() {
    let r = gateway::start("").await;
    let phone = "013912345678";
    let id = queue(
        &r,
        phone,
        json!({"type": "engine_stop", "confirm": true, "protocol": "jt808"}),
    )
    .await;
    let mut s = connect(&r, "jt808").await;
    let code = jt808_register(&mut s, phone, 1, 0).await;
    // Nothing goes out before the terminal authenticated: the next frame is the 0x8001.
    jt808_auth(&mut s, phone, &code, 2, 1).await;
    let want = jt808_frame(0x8105, phone, id as u16, &[0xF0]);
    assert_eq!(hex::encode(read_jt808(&mut s).await), hex::encode(&want));
    wait_status(&r, id, "sent").await;
    // 0x0001 {reply serial = the command's, reply id 0x8105, result 0}.
    let mut body = (id as u16).to_be_bytes().to_vec();
    body.extend_from_slice(&[0x81, 0x05, 0x00]);
    s.write_all(&jt808_frame(0x0001, phone, 3, &body))
        .await
        .unwrap();
    let v = wait_status(&r, id, "acknowledged").await;
    assert_eq!(v["answer"], "0x8105 result 0 (ok)", "{v}");

    // A refused one ends `failed` with the device's word. Queued under the id without its
    // leading zero (as /api/devices finds it): it still reaches the terminal.
    let id2 = queue(
        &r,
        "13912345678",
        json!({"type": "set_interval", "params": {"seconds": 10}}),
    )
    .await;
    let hb = jt808_frame(0x0002, phone, 4, &[]);
    s.write_all(&hb).await.unwrap();
    let ack = read_jt808(&mut s).await;
    assert_eq!(ack[1..3], [0x80, 0x01], "heartbeat answered first");
    let mut params = vec![1, 0, 0, 0, 0x29, 4];
    params.extend_from_slice(&10u32.to_be_bytes());
    let want = jt808_frame(0x8103, phone, id2 as u16, &params);
    assert_eq!(hex::encode(read_jt808(&mut s).await), hex::encode(&want));
    let mut body = (id2 as u16).to_be_bytes().to_vec();
    body.extend_from_slice(&[0x81, 0x03, 0x03]);
    s.write_all(&jt808_frame(0x0001, phone, 5, &body))
        .await
        .unwrap();
    let v = wait_status(&r, id2, "failed").await;
    assert!(v["error"].as_str().unwrap().contains("unsupported"), "{v}");
    assert_eq!(v["device"], phone, "stored under the terminal's own id");
    let (_, list) = gateway::get_json(&r, "/api/devices/13912345678/commands").await;
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    let path = format!("/api/events?device={phone}&type=command_failed");
    eventually(LIMIT, "command_failed event", async || {
        let (_, v) = gateway::get_json(&r, &path).await;
        let n = v["events"].as_array().map_or(0, Vec::len);
        if n == 1 {
            Ok(())
        } else {
            Err(v.to_string())
        }
    })
    .await;
    r.shutdown().await;
}

/// A token named `name` (its secret is `secret-<name>`) with `scopes`, of `customer`.
fn token(
    name: &str,
    scopes: &[trackgate::api::auth::Scope],
    customer: Option<&str>,
) -> trackgate::api::auth::config::TokenConfig {
    trackgate::api::auth::config::TokenConfig {
        name: name.into(),
        token_sha256: Some(
            trackgate::api::auth::tokens::sha256_hex(&format!("secret-{name}")).into(),
        ),
        scopes: scopes.to_vec(),
        customer: customer.map(String::from),
        ..Default::default()
    }
}

async fn call(
    r: &Running,
    m: reqwest::Method,
    path: &str,
    who: &str,
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

#[tokio::test]
async fn customers_command_only_their_vehicles_and_see_only_their_commands() {
    use reqwest::Method;
    use trackgate::api::auth::Scope::{Commands, Read, Write};
    let mut cfg = test_config("");
    cfg.api.tokens = vec![
        token("ops", &[Read, Write, Commands], None),
        token("acme", &[Read, Write, Commands], Some("acme")),
        token("globex", &[Read, Write, Commands], Some("globex")),
        token("viewer", &[Read, Write], None),
    ];
    let r = server::start(cfg).await.expect("start");
    let mut s = connect(&r, "gt06").await;
    gt06_login(&mut s).await;
    let dev = format!("/api/devices/{GT06_IMEI}");
    eventually(LIMIT, "device known", async || {
        call(&r, reqwest::Method::GET, &dev, "ops", None).await.0 == 200
    })
    .await;
    // The vehicle is acme's while it is on acme's shipment.
    let planned = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let sh = json!({
        "id": "sh-1", "device": GT06_IMEI, "customer": "acme",
        "route": {"type": "LineString", "coordinates": [[13.4, 52.5], [13.5, 52.5]]},
        "stops": [{"id": "s1", "lat": 52.5, "lon": 13.5, "planned_arrival": planned}]
    });
    let (st, v) = call(&r, Method::POST, "/api/shipments", "ops", Some(sh)).await;
    assert_eq!(st, 201, "{v}");

    let path = format!("/api/devices/{GT06_IMEI}/commands");
    let reboot = json!({"type": "reboot"});
    // Without the commands scope: refused whatever the device.
    let (st, _) = call(&r, Method::POST, &path, "viewer", Some(reboot.clone())).await;
    assert_eq!(st, 403);
    // Another customer: the vehicle does not exist for it.
    let (st, v) = call(&r, Method::POST, &path, "globex", Some(reboot.clone())).await;
    assert_eq!(st, 404, "{v}");
    // Naming the protocol does not help a customer either.
    let mut named = reboot.clone();
    named["protocol"] = json!("gt06");
    let (st, _) = call(&r, Method::POST, &path, "globex", Some(named.clone())).await;
    assert_eq!(st, 404);
    let (st, _) = call(
        &r,
        Method::POST,
        "/api/devices/860000000000099/commands",
        "acme",
        Some(named),
    )
    .await;
    assert_eq!(st, 404);

    let (st, v) = call(&r, Method::POST, &path, "acme", Some(reboot)).await;
    assert_eq!(st, 202, "{v}");
    let id = v["id"].as_u64().unwrap();
    let one = format!("/api/commands/{id}");
    let (st, v) = call(&r, Method::GET, &one, "acme", None).await;
    assert_eq!((st, v["requested_by"].as_str()), (200, Some("acme")), "{v}");
    let (st, _) = call(&r, Method::GET, &one, "globex", None).await;
    assert_eq!(st, 404);
    let (st, v) = call(&r, Method::GET, &path, "globex", None).await;
    assert_eq!((st, v), (200, json!([])));
    let (st, _) = call(&r, Method::DELETE, &one, "globex", None).await;
    assert_eq!(st, 404);
    let (st, v) = call(&r, Method::GET, &one, "ops", None).await;
    assert_eq!((st, v["status"].as_str()), (200, Some("queued")), "{v}");
    // Delivered to the device like any other.
    send_expect(
        &mut s,
        &gt06_frame(0x13, &[0x40, 0x04, 0x04, 0x00, 0x02], 6),
        &gt06_ack(0x13, 6),
    )
    .await;
    let want = gt06_command(id, "RESET#");
    assert_eq!(
        hex::encode(read_n(&mut s, want.len()).await),
        hex::encode(&want)
    );
    r.shutdown().await;
}

/// Reads one H02 text line `*…#` (5 s limit per byte).
async fn read_h02(s: &mut tokio::net::TcpStream) -> String {
    let mut line = Vec::new();
    loop {
        let b = read_n(s, 1).await[0];
        line.push(b);
        if b == b'#' {
            return String::from_utf8(line).expect("ASCII");
        }
    }
}

#[tokio::test]
async fn h02_s20_command_and_v4_answer() {
    let r = gateway::start("").await;
    let id = "4210051415";
    let cmd = queue(
        &r,
        id,
        json!({"type": "engine_stop", "confirm": true, "protocol": "h02"}),
    )
    .await;
    let mut s = connect(&r, "h02").await;
    let v1 = format!("*HQ,{id},V1,130500,A,2230.0000,N,11400.0000,E,0.00,0,041226,FFFFFBFF#");
    s.write_all(v1.as_bytes()).await.unwrap();
    let ack = read_h02(&mut s).await;
    assert!(ack.starts_with(&format!("*HQ,{id},V4,V1,")), "{ack}");
    // The command line carries the time it was written (hhmmss UTC).
    let line = read_h02(&mut s).await;
    let rest = line
        .strip_prefix(&format!("*HQ,{id},S20,"))
        .and_then(|r| r.strip_suffix(",1,1#"))
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        rest.len() == 6 && rest.bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
    wait_status(&r, cmd, "sent").await;
    let v4 =
        format!("*HQ,{id},V4,S20,1,1,130510,A,2230.0000,N,11400.0000,E,0.00,0,041226,FFFFFBFF#");
    s.write_all(v4.as_bytes()).await.unwrap();
    let v = wait_status(&r, cmd, "acknowledged").await;
    assert_eq!(v["answer"], "S20,1,1", "{v}");
    r.shutdown().await;
}

#[tokio::test]
async fn h02_over_udp_gets_its_command_after_its_next_datagram() {
    let r = gateway::start("").await;
    let id = "4210051416";
    let cmd = queue(
        &r,
        id,
        json!({"type": "set_interval", "params": {"seconds": 60}, "protocol": "h02"}),
    )
    .await;
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.connect(r.addr("h02", "udp").expect("h02 udp"))
        .await
        .unwrap();
    let recv = async || {
        let mut b = vec![0u8; 512];
        let n = tokio::time::timeout(LIMIT, sock.recv(&mut b))
            .await
            .expect("a datagram within 5 s")
            .unwrap();
        String::from_utf8(b[..n].to_vec()).unwrap()
    };
    let v1 = format!("*HQ,{id},V1,130500,A,2230.0000,N,11400.0000,E,0.00,0,041226,FFFFFBFF#");
    sock.send(v1.as_bytes()).await.unwrap();
    let ack = recv().await;
    assert!(ack.starts_with(&format!("*HQ,{id},V4,V1,")), "{ack}");
    let line = recv().await;
    assert!(
        line.starts_with(&format!("*HQ,{id},S71,")) && line.ends_with(",22,60#"),
        "{line}"
    );
    wait_status(&r, cmd, "sent").await;
    let v4 =
        format!("*HQ,{id},V4,S71,22,60,130510,A,2230.0000,N,11400.0000,E,0.00,0,041226,FFFFFBFF#");
    sock.send(v4.as_bytes()).await.unwrap();
    let v = wait_status(&r, cmd, "acknowledged").await;
    assert_eq!(v["answer"], "S71,22,60", "{v}");
    r.shutdown().await;
}
