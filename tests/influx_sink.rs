//! The InfluxDB sink against real servers: a private InfluxDB 1.6 (v1 API, InfluxQL read-back)
//! and a private VictoriaMetrics (v2 write API, export read-back). No mocks, except one raw TCP
//! listener that records the request bytes to prove the body is gzip.
//!
//! Needs `influxd` and `victoria-metrics` on PATH: `.ci/services.sh install`.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use support::influxql::{Influxql, Row};
use support::records::{at, dev, position, T0};
use support::services;
use support::{count_reaches, eventually};
use tokio_util::sync::CancellationToken;
use trackgate::model::{
    Alarm, Alert, DeviceEvent, EtaUpdate, EventKind, IoValue, Position, Record, StopStatus,
};
use trackgate::sinks::influx::{
    ErrorKind, InfluxApi, InfluxConfig, InfluxMetrics, InfluxSink, SinkError, WriteReport,
};

/// A fix of `device` at `secs` after `T0`, received 3 s later, with speed, course, altitude and
/// satellites set.
fn fix(device: &str, secs: i64) -> Position {
    Position {
        received: at(secs + 3),
        speed_kmh: 42.5,
        course: 271.25,
        altitude_m: 34.5,
        satellites: 9,
        ..position(device, secs, 52.52, 13.405)
    }
}

fn sink(url: &str, db: &str) -> (InfluxSink, InfluxMetrics, CancellationToken) {
    let mut cfg = InfluxConfig::new(url);
    cfg.database = db.into();
    cfg.retry_min_ms = 20;
    cfg.retry_max_ms = 200;
    let m = InfluxMetrics::default();
    let stop = CancellationToken::new();
    let s = InfluxSink::new(&cfg, m.clone(), stop.clone()).expect("sink");
    (s, m, stop)
}

async fn field_types(db: &Influxql, measurement: &str) -> BTreeMap<String, String> {
    db.rows(&format!("SHOW FIELD KEYS FROM {measurement}"))
        .await
        .into_iter()
        .map(|r| {
            (
                r["fieldKey"].as_str().unwrap_or_default().to_string(),
                r["fieldType"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn row(pairs: Value) -> Row {
    pairs
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[tokio::test]
async fn positions_events_and_etas_round_trip_through_influxdb_1x() {
    let influx = services::influxd(0);
    // The database does not exist yet: the first write gets 404 and creates it.
    let (sink, metrics, _stop) = sink(&influx.url, "trackgate");
    let db = Influxql::new(&influx.url, "trackgate");

    let mut p = fix("123456789012345", 0);
    p.ignition = Some(true);
    p.odometer_m = Some(1_234_567.5);
    p.battery_v = Some(4.1);
    p.power_v = Some(12.6);
    p.io.insert("io_239".into(), IoValue::Int(1));
    p.io.insert("rssi".into(), IoValue::Int(-71));
    p.io.insert("fuel_l".into(), IoValue::Float(33.25));
    p.io.insert("door".into(), IoValue::Bool(false));
    p.io.insert("iccid".into(), IoValue::Text("8931440400012345678".into()));
    p.alarms = vec![Alarm::Sos, Alarm::PowerCut];
    let mut q = fix("999", 1);
    q.lat = -33.868_82;
    q.lon = -151.209_29;
    q.valid = false;
    let mut cmd = DeviceEvent::new(
        dev("999"),
        "teltonika",
        at(2),
        EventKind::CommandResult { text: "ok".into() },
    );
    cmd.attributes.insert("gsm".into(), IoValue::Int(4));
    let records = vec![
        Record::Position(p),
        Record::Position(q),
        Record::Event(DeviceEvent::new(
            dev("999"),
            "gt06",
            at(3),
            EventKind::Login,
        )),
        Record::Event(cmd),
    ];
    let report = sink.write_records(&records).await.expect("write");
    assert_eq!(
        (report.written, report.bad_lines, report.dropped_fields),
        (6, 0, 0)
    );
    assert_eq!(metrics.errors(ErrorKind::DatabaseNotFound), 1);
    assert_eq!(metrics.lines_written.get(), 6);

    let rows = db.rows("SELECT * FROM position").await;
    assert_eq!(
        rows,
        vec![
            row(json!({
                "time": 1_764_215_276_000_000_000_i64, "device": "123456789012345",
                "protocol": "gt06", "lat": 52.52, "lon": 13.405, "speed": 42.5,
                "course": 271.25, "altitude": 34.5, "satellites": 9, "valid": true,
                "ignition": true, "odometer": 1_234_567.5, "battery": 4.1, "power": 12.6,
                "io_239": 1, "io_rssi": -71, "io_fuel_l": 33.25, "io_door": false,
                "io_iccid": "8931440400012345678"
            })),
            row(json!({
                "time": 1_764_215_277_000_000_000_i64, "device": "999", "protocol": "gt06",
                "lat": -33.86882, "lon": -151.20929, "speed": 42.5, "course": 271.25,
                "altitude": 34.5, "satellites": 9, "valid": false
            })),
        ]
    );
    let types = field_types(&db, "position").await;
    let want: BTreeMap<String, String> = [
        ("altitude", "float"),
        ("battery", "float"),
        ("course", "float"),
        ("ignition", "boolean"),
        ("io_239", "integer"),
        ("io_door", "boolean"),
        ("io_fuel_l", "float"),
        ("io_iccid", "string"),
        ("io_rssi", "integer"),
        ("lat", "float"),
        ("lon", "float"),
        ("odometer", "float"),
        ("power", "float"),
        ("satellites", "integer"),
        ("speed", "float"),
        ("valid", "boolean"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(types, want);

    let events = db.rows("SELECT * FROM event").await;
    assert_eq!(
        events,
        vec![
            row(
                json!({"time": 1_764_215_276_000_000_000_i64, "device": "123456789012345",
                "type": "alarm_power_cut", "message": "power_cut", "lat": 52.52, "lon": 13.405})
            ),
            row(
                json!({"time": 1_764_215_276_000_000_000_i64, "device": "123456789012345",
                "type": "alarm_sos", "message": "sos", "lat": 52.52, "lon": 13.405})
            ),
            row(
                json!({"time": 1_764_215_278_000_000_000_i64, "device": "999",
                "type": "command_result", "message": "ok", "io_gsm": 4})
            ),
            row(
                json!({"time": 1_764_215_279_000_000_000_i64, "device": "999",
                "type": "login", "message": ""})
            ),
        ]
    );

    let eta = EtaUpdate {
        device: dev("999"),
        eta: at(3600),
        planned: at(3000),
        deviation_s: 600,
        remaining_m: 15_000.5,
        progress: 0.25,
        off_route_m: 12.0,
        status: StopStatus::Late,
        ..support::records::eta("SH-1", "berlin hub", 10)
    };
    let r = sink
        .write_records(&[Record::Eta(eta)])
        .await
        .expect("eta write");
    assert_eq!(r.written, 1);
    assert_eq!(
        db.rows("SELECT * FROM eta").await,
        vec![row(json!({
            "time": 1_764_215_286_000_000_000_i64, "shipment": "SH-1", "stop": "berlin hub",
            "device": "999", "eta": T0 + 3600, "planned": T0 + 3000, "deviation": 600,
            "remaining": 15_000.5, "progress": 0.25, "off_route": 12, "status": "late"
        }))]
    );
    let types = field_types(&db, "eta").await;
    assert_eq!(types["eta"], "integer");
    assert_eq!(types["deviation"], "integer");
    assert_eq!(types["off_route"], "float");
    assert_eq!(types["status"], "string");
}

#[tokio::test]
async fn hostile_strings_round_trip_or_are_rejected_without_harming_the_batch() {
    let influx = services::influxd(0);
    let (sink, metrics, _stop) = sink(&influx.url, "hostile");
    let db = Influxql::new(&influx.url, "hostile");
    let hostile = [
        "a b,c=d",
        "say \"hi\"",
        "back\\slash\\",
        "\\\"",
        "ünï©ødé 🚚 漢字",
        "=,\" ",
        "trailing \\",
    ];
    let mut p = fix("1", 0);
    for (i, s) in hostile.iter().enumerate() {
        p.io.insert(format!("s{i}"), IoValue::Text((*s).into()));
    }
    p.io.insert("nl".into(), IoValue::Text("two\nlines".into()));
    p.io.insert("key with space,comma=eq".into(), IoValue::Int(7));
    p.io.insert("bad\\key".into(), IoValue::Int(8));
    let tracking = Record::Alert(Alert {
        device: dev("1"),
        shipment: Some("SH 7,x=y ü".into()),
        message: "left \"A1\", 160 m = too far \\".into(),
        lat: Some(52.5),
        lon: Some(13.4),
        value: Some(160.0),
        time: at(1),
        ..support::records::alert("t1", "off_route")
    });
    let records = vec![
        Record::Position(fix("0", 0)),
        Record::Position(p),
        // Only field is a multi-line message: the whole line is rejected before sending.
        Record::Event(DeviceEvent::new(
            dev("1"),
            "gt06",
            at(2),
            EventKind::CommandResult {
                text: "line1\nline2".into(),
            },
        )),
        Record::Position(fix("2", 0)),
    ];
    let r = sink.write_records(&records).await.expect("write");
    // 3 positions written; the event rejected; 3 fields dropped: the newline IO value, the
    // backslash key and the event's multi-line message (which left its line without fields).
    // JSON numbers from InfluxDB drop a float's ".0"; SHOW FIELD KEYS checks the types.
    assert_eq!((r.written, r.bad_lines, r.dropped_fields), (3, 1, 3));
    assert_eq!(metrics.bad_lines.get(), 1);
    assert_eq!(metrics.dropped_fields.get(), 3);
    let r = sink.write_records(&[tracking]).await.expect("event");
    assert_eq!(r.written, 1);

    let rows = db.rows("SELECT * FROM position WHERE device = '1'").await;
    assert_eq!(rows.len(), 1);
    for (i, s) in hostile.iter().enumerate() {
        assert_eq!(rows[0][&format!("io_s{i}")], json!(s), "io_s{i}");
    }
    assert_eq!(rows[0]["io_key with space,comma=eq"], json!(7));
    assert!(!rows[0].contains_key("io_nl"));
    let others = db
        .rows("SELECT lat FROM position WHERE device != '1'")
        .await;
    assert_eq!(
        others.len(),
        2,
        "neighbours of the hostile lines are stored"
    );
    assert!(db
        .rows("SELECT * FROM event WHERE type = 'command_result'")
        .await
        .is_empty());
    let ev = db
        .rows("SELECT * FROM event WHERE type = 'off_route'")
        .await;
    assert_eq!(
        ev,
        vec![row(json!({
            "time": 1_764_215_277_000_000_000_i64, "device": "1", "type": "off_route",
            "shipment": "SH 7,x=y ü", "message": "left \"A1\", 160 m = too far \\",
            "lat": 52.5, "lon": 13.4, "value": 160
        }))]
    );
}

#[tokio::test]
async fn one_bad_line_is_isolated_and_the_good_lines_are_delivered() {
    let influx = services::influxd(0);
    let (sink, metrics, _stop) = sink(&influx.url, "conflict");
    // io_level is an integer in this shard from now on.
    let mut first = fix("7", 0);
    first.io.insert("io_level".into(), IoValue::Int(1));
    assert_eq!(
        sink.write_records(&[Record::Position(first)])
            .await
            .unwrap()
            .written,
        1
    );

    let records: Vec<Record> = (1..=9)
        .map(|i| {
            let mut p = fix("7", i);
            // Line 5 sends io_level as a float: field type conflict, 400 partial write.
            let v = if i == 5 {
                IoValue::Float(2.5)
            } else {
                IoValue::Int(i)
            };
            p.io.insert("io_level".into(), v);
            Record::Position(p)
        })
        .collect();
    let r = sink.write_records(&records).await.expect("write");
    assert_eq!((r.written, r.bad_lines), (8, 1));
    assert!(
        r.requests >= 4,
        "bisection needs several requests, made {}",
        r.requests
    );
    assert_eq!(metrics.bad_lines.get(), 1);
    assert!(metrics.errors(ErrorKind::BadRequest) >= 2);
    let rows = Influxql::new(&influx.url, "conflict")
        .rows("SELECT io_level FROM position")
        .await;
    let levels: Vec<i64> = rows
        .iter()
        .map(|r| r["io_level"].as_i64().unwrap())
        .collect();
    assert_eq!(levels, vec![1, 1, 2, 3, 4, 6, 7, 8, 9]);
    let times: Vec<i64> = rows.iter().map(|r| r["time"].as_i64().unwrap()).collect();
    assert!(!times.contains(&((T0 + 5) * 1_000_000_000)));
}

#[tokio::test]
async fn rewriting_the_same_records_is_idempotent() {
    let influx = services::influxd(0);
    let (sink, _m, _stop) = sink(&influx.url, "replay");
    let records: Vec<Record> = (0..50).map(|i| Record::Position(fix("5", i))).collect();
    for _ in 0..2 {
        assert_eq!(sink.write_records(&records).await.unwrap().written, 50);
    }
    let count = Influxql::new(&influx.url, "replay")
        .count("SELECT count(lat) FROM position")
        .await;
    assert_eq!(count, 50);
}

#[tokio::test]
async fn writes_are_chunked_by_batch_size() {
    let influx = services::influxd(0);
    let mut cfg = InfluxConfig::new(&influx.url);
    cfg.database = "chunks".into();
    cfg.batch_size = 7;
    let sink = InfluxSink::new(&cfg, InfluxMetrics::default(), CancellationToken::new()).unwrap();
    // Warm-up: the first write meets a database that does not exist yet (answered 404, then
    // CREATE DATABASE and the write again) on a server that has just started; those extra
    // requests are not what this test counts.
    let first = sink
        .write_records(&[Record::Position(fix("5", -1))])
        .await
        .unwrap();
    assert_eq!((first.written, first.bad_lines), (1, 0));
    assert!(first.requests >= 2, "404, create, write again: {first:?}");
    let records: Vec<Record> = (0..20).map(|i| Record::Position(fix("5", i))).collect();
    let r = sink.write_records(&records).await.unwrap();
    // Exactly 3 requests: 7 + 7 + 6 lines.
    assert_eq!(
        r,
        WriteReport {
            written: 20,
            bad_lines: 0,
            dropped_fields: 0,
            requests: 3
        }
    );
    let count = Influxql::new(&influx.url, "chunks")
        .count("SELECT count(lat) FROM position")
        .await;
    assert_eq!(count, 21);
}

#[tokio::test]
async fn server_down_is_retried_until_it_comes_back() {
    let port = services::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let (sink, metrics, _stop) = sink(&url, "late");
    let records: Vec<Record> = (0..3).map(|i| Record::Position(fix("3", i))).collect();
    let writer = tokio::spawn(async move { sink.write_records(&records).await });
    // Wait until the sink has failed to connect at least twice.
    count_reaches(
        Duration::from_secs(10),
        "failed connection attempts",
        2,
        || metrics.errors(ErrorKind::Network),
    )
    .await;
    assert!(!writer.is_finished());
    let influx = services::influxd(port);
    let r = tokio::time::timeout(Duration::from_secs(20), writer)
        .await
        .expect("write finished after the server came back")
        .expect("task")
        .expect("write");
    assert_eq!((r.written, r.bad_lines), (3, 0));
    let count = Influxql::new(&influx.url, "late")
        .count("SELECT count(lat) FROM position")
        .await;
    assert_eq!(count, 3);
}

#[tokio::test]
async fn wrong_api_is_a_config_error_never_bad_data_and_stop_ends_retrying() {
    // The v2 write path on InfluxDB 1.6 answers 404 page not found.
    let influx = services::influxd(0);
    let mut cfg = InfluxConfig::new(&influx.url);
    cfg.api = InfluxApi::V2;
    cfg.org = "o".into();
    cfg.bucket = "b".into();
    cfg.retry_min_ms = 10;
    cfg.retry_max_ms = 50;
    let metrics = InfluxMetrics::default();
    let stop = CancellationToken::new();
    let sink = InfluxSink::new(&cfg, metrics.clone(), stop.clone()).unwrap();
    let writer =
        tokio::spawn(async move { sink.write_records(&[Record::Position(fix("1", 0))]).await });
    count_reaches(
        Duration::from_secs(10),
        "retries of the misconfigured write",
        3,
        || metrics.errors(ErrorKind::Config),
    )
    .await;
    stop.cancel();
    let r = tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .expect("stopped promptly")
        .expect("task");
    assert!(matches!(r, Err(SinkError::Stopped)), "{r:?}");
    assert_eq!(metrics.bad_lines.get(), 0);
    assert_eq!(metrics.lines_written.get(), 0);
}

#[tokio::test]
async fn v2_write_to_victoria_metrics_reads_back_exactly() {
    let vm = services::victoria_metrics();
    let mut cfg = InfluxConfig::new(&vm.url);
    cfg.api = InfluxApi::V2;
    cfg.org = "acme".into();
    cfg.bucket = "fleet".into();
    cfg.token = "secret".into();
    let sink = InfluxSink::new(&cfg, InfluxMetrics::default(), CancellationToken::new()).unwrap();
    let mut p = fix("4242", 0);
    p.io.insert("io_16".into(), IoValue::Int(123_456));
    let r = sink
        .write_records(&[Record::Position(p), Record::Position(fix("4242", 1))])
        .await
        .unwrap();
    assert_eq!(r.written, 2);

    let client = reqwest::Client::new();
    let body = eventually(Duration::from_secs(15), "7 exported samples", async || {
        client
            .get(format!("{}/internal/force_flush", vm.url))
            .send()
            .await
            .expect("force_flush");
        let text = client
            .get(format!("{}/api/v1/export/csv", vm.url))
            .query(&[
                (
                    "match[]",
                    r#"{__name__=~"position_(lat|lon|io_16|satellites)"}"#,
                ),
                (
                    "format",
                    "__name__,device,protocol,__value__,__timestamp__:unix_s",
                ),
            ])
            .send()
            .await
            .expect("export")
            .text()
            .await
            .expect("export body");
        if text.lines().count() >= 7 {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await;
    let mut lines: Vec<&str> = body.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        vec![
            "position_io_16,4242,gt06,123456,1764215276",
            "position_lat,4242,gt06,52.52,1764215276",
            "position_lat,4242,gt06,52.52,1764215277",
            "position_lon,4242,gt06,13.405,1764215276",
            "position_lon,4242,gt06,13.405,1764215277",
            "position_satellites,4242,gt06,9,1764215276",
            "position_satellites,4242,gt06,9,1764215277",
        ]
    );
}

#[tokio::test]
async fn request_body_is_gzip_with_the_v1_query_and_basic_auth() {
    use std::io::Read;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A listener that records one request and answers 204, to see the exact bytes sent.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            if let Some(h) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..h]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= h + 4 + len {
                    s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                        .await
                        .unwrap();
                    return (
                        String::from_utf8_lossy(&buf[..h]).into_owned(),
                        buf[h + 4..].to_vec(),
                    );
                }
            }
            assert!(n > 0, "client closed early");
        }
    });
    let mut cfg = InfluxConfig::new(format!("http://127.0.0.1:{port}"));
    cfg.database = "my db".into();
    cfg.username = Some("admin".into());
    cfg.password = Some("pw".into());
    let sink = InfluxSink::new(&cfg, InfluxMetrics::default(), CancellationToken::new()).unwrap();
    let r = sink
        .write_records(&[Record::Position(fix("1", 0))])
        .await
        .unwrap();
    assert_eq!(r.written, 1);
    let (head, body) = server.await.unwrap();
    assert!(
        head.starts_with("POST /write?db=my+db&precision=ns HTTP/1.1\r\n"),
        "{head}"
    );
    let lower = head.to_lowercase();
    assert!(lower.contains("\r\ncontent-encoding: gzip\r\n"), "{head}");
    // base64("admin:pw")
    assert!(
        lower.contains("\r\nauthorization: basic ywrtaw46chc=\r\n"),
        "{head}"
    );
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut plain)
        .expect("gzip body");
    assert_eq!(
        plain,
        "position,device=1,protocol=gt06 lat=52.52,lon=13.405,speed=42.5,course=271.25,\
         altitude=34.5,satellites=9i,valid=true 1764215276000000000\n"
    );
}
