//! End to end over real sockets for T55 (NMEA sentences): an in-process gateway on port 0,
//! sentences written by a client (TCP and UDP), the `OK1` answer read back where configured,
//! and the stored position read from `/api/devices/{id}`.

mod support;

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use support::gateway;
use tokio::io::AsyncWriteExt;
use tokio::net::UdpSocket;
use trackgate::protocol::{t55::encode, wire::KNOT_KMH, Fix};

fn fix(time: DateTime<Utc>, lat: f64, lon: f64) -> Fix {
    Fix {
        time,
        lat,
        lon,
        // 30 knots: the wire speaks knots, the store km/h.
        speed_kmh: 30.0 * KNOT_KMH,
        course: 184.5,
        altitude_m: 46.5,
        satellites: 8,
        hdop: 0.9,
        valid: true,
        ..Fix::default()
    }
}

/// The stored position is `f` (coordinates to the 1e-4 minute of the wire).
fn stored(body: &serde_json::Value, f: &Fix, speed: bool) -> bool {
    let t: Option<DateTime<Utc>> = body["time"].as_str().and_then(|t| t.parse().ok());
    let (Some(lat), Some(lon)) = (body["lat"].as_f64(), body["lon"].as_f64()) else {
        return false;
    };
    (lat - f.lat).abs() < 2e-6
        && (lon - f.lon).abs() < 2e-6
        && t == Some(f.time)
        && (!speed
            || (body["speed"]
                .as_f64()
                .is_some_and(|s| (s - 30.0 * KNOT_KMH).abs() < 1e-9)
                && body["course"].as_f64() == Some(184.5)))
}

#[tokio::test]
async fn t55_id_line_rmc_and_gga_over_tcp_without_answers() {
    let gw = gateway::start("").await;
    let mut s = gateway::connect(&gw, "t55").await;
    let id = "359853000144328";
    s.write_all(&encode::pgid(id)).await.unwrap();
    let t = Utc.with_ymd_and_hms(2026, 11, 27, 4, 0, 7).unwrap();
    let f1 = fix(t, 53.917190, -10.735452);
    s.write_all(&encode::rmc(&f1)).await.unwrap();
    let body = gateway::wait_device(&gw, id, |b| stored(b, &f1, true)).await;
    assert_eq!(body["protocol"], "t55");
    // GGA has no date: the gateway places its time of day on the day nearest to now.
    let now = Utc::now() - Duration::seconds(30);
    let f2 = fix(now.with_nanosecond(0).unwrap(), -33.774110, 150.955140);
    s.write_all(&encode::gga(&f2)).await.unwrap();
    let body = gateway::wait_device(&gw, id, |b| stored(b, &f2, false)).await;
    assert_eq!(body["altitude"].as_f64(), Some(46.5));
    assert_eq!(body["satellites"], 8);
    // Nothing is answered without the `ack` option.
    gateway::expect_silence(&mut s, 200).await;
    gw.shutdown().await;
}

#[tokio::test]
async fn t55_rmc_answered_ok1_with_the_ack_option_and_udp_prefixed() {
    let gw = gateway::start("[protocols.t55.options]\nack = \"true\"\n").await;
    let mut s = gateway::connect(&gw, "t55").await;
    s.write_all(b"358244017671308\r\n").await.unwrap();
    let t = Utc.with_ymd_and_hms(2026, 11, 27, 4, 10, 0).unwrap();
    let f = fix(t, 60.0, 130.0);
    gateway::send_expect(&mut s, &encode::rmc(&f), b"OK1\r\n").await;
    gateway::wait_device(&gw, "358244017671308", |b| stored(b, &f, true)).await;

    // UDP: one sentence per datagram, the device named in front; never answered.
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    udp.connect(gw.addr("t55", "udp").expect("t55 udp listener"))
        .await
        .unwrap();
    let f = fix(t, 47.5, 19.04);
    let mut dgram = b"990000561287964,".to_vec();
    dgram.extend_from_slice(&encode::rmc(&f));
    udp.send(&dgram).await.unwrap();
    gateway::wait_device(&gw, "990000561287964", |b| stored(b, &f, true)).await;
    gw.shutdown().await;
}
