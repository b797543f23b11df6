//! OsmAnd / Traccar Client phone app: one HTTP request per fix, parameters in the query
//! string (`/?id=…&timestamp=…&lat=…&lon=…&speed=…&bearing=…&altitude=…&batt=…`), sent as a
//! POST with an empty body the way Traccar Client sends it. `timestamp` is Unix seconds and
//! `speed` is knots (the gateway's default `speed_unit`).
//!
//! The HTTP status is the ACK (`src/ingest/http.rs`): `200` only after the fix is durable, so
//! this kind IS acknowledged; `503` (not durable, or too many requests in flight) makes the
//! app retry; any other status is a refusal. There is no login and no heartbeat: a parked
//! phone keeps reporting on its (slower) interval.

use super::Fix;
use super::{Answer, Frame, FrameKind, Identity, SimError, SimProtocol};
use bytes::BytesMut;
use std::fmt::Write as _;

/// Battery percentage sent with every fix (the app always reports one).
const BATTERY: u8 = 100;

pub(super) fn build(id: &Identity) -> Result<Box<dyn SimProtocol>, SimError> {
    Ok(Box::new(OsmAndDevice {
        id: id.imei.clone(),
        serial: 0,
    }))
}

struct OsmAndDevice {
    /// The app's device identifier (`id`); the IMEI keeps it unique in a mixed fleet.
    id: String,
    /// Local request counter; lets the counters tell requests apart.
    serial: u32,
}

/// The request target (path and query) for one fix. Every value is a number or the id
/// (digits), so nothing needs percent-encoding; `valid=false` is added only when the
/// receiver has no fix (the apps never send it, the gateway reads it as Traccar does).
fn target(id: &str, f: &Fix) -> String {
    let mut q = format!(
        "/?id={id}&timestamp={}&lat={}&lon={}&speed={:.2}&bearing={:.1}&altitude={:.1}&batt={BATTERY}",
        f.time.timestamp(),
        f.lat,
        f.lon,
        // Traccar Client's speed unit is the knot.
        f.speed_knots(),
        f.course.rem_euclid(360.0),
        f.altitude_m,
    );
    if !f.valid {
        let _ = write!(q, "&valid=false");
    }
    q
}

/// The HTTP status at the start of a reply as the session hands it over (`"200 <body>"`).
fn status(reply: &[u8]) -> Result<u16, SimError> {
    reply
        .get(..3)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|d| d.parse::<u16>().ok())
        .ok_or_else(|| {
            SimError::BadReply(format!(
                "osmand reply without a status: {:?}",
                reply.escape_ascii().to_string()
            ))
        })
}

impl SimProtocol for OsmAndDevice {
    fn device_id(&self) -> String {
        self.id.clone()
    }

    fn login(&mut self) -> Result<Option<Frame>, SimError> {
        Ok(None)
    }

    fn positions(&mut self, fixes: &[Fix], _backlog: bool) -> Result<Frame, SimError> {
        // The query form carries one fix; offline buffers are replayed one request each.
        let [f] = fixes else {
            return Err(SimError::Encode(format!(
                "osmand query carries one fix per request, got {}",
                fixes.len()
            )));
        };
        self.serial = self.serial.wrapping_add(1);
        Ok(Frame {
            bytes: target(&self.id, f).into_bytes(),
            kind: FrameKind::Positions,
            records: 1,
            serial: self.serial,
            msg: 0,
        })
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn heartbeat(&mut self) -> Result<Option<Frame>, SimError> {
        Ok(None)
    }

    fn cut_reply(&self, _sent: &Frame, buf: &mut BytesMut) -> Result<Option<Vec<u8>>, SimError> {
        // HTTP replies arrive whole from the client library; nothing is cut from a stream.
        Ok((!buf.is_empty()).then(|| buf.split().to_vec()))
    }

    fn check_reply(&mut self, _sent: &Frame, reply: &[u8]) -> Result<Answer, SimError> {
        let body = || String::from_utf8_lossy(reply.get(4..).unwrap_or_default()).into_owned();
        match status(reply)? {
            200 => Ok(Answer::Acked),
            503 => Ok(Answer::Retry(format!("503 {}", body()))),
            s => Err(SimError::Refused(format!("osmand HTTP {s}: {}", body()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn fix(valid: bool) -> Fix {
        Fix {
            time: Utc
                .with_ymd_and_hms(2026, 11, 27, 5, 30, 0)
                .single()
                .expect("time")
                + chrono::Duration::milliseconds(750),
            lat: 47.3769,
            lon: -8.5417,
            speed_kmh: 92.6,
            course: 361.0,
            altitude_m: 408.26,
            satellites: 9,
            hdop: 0.0,
            valid,
            ignition: true,
            odometer_m: 0.0,
        }
    }

    #[test]
    fn query_is_exact() {
        let mut d = build(&Identity {
            imei: "350000000000014".into(),
            index: 0,
        })
        .expect("device");
        let f = d.positions(&[fix(true)], false).expect("frame");
        // Seconds are truncated (1795757400 = 2026-11-27T05:30:00Z); 92.6 km/h = 50 kn.
        assert_eq!(
            String::from_utf8(f.bytes).expect("ascii"),
            "/?id=350000000000014&timestamp=1795757400&lat=47.3769&lon=-8.5417&speed=50.00\
             &bearing=1.0&altitude=408.3&batt=100"
        );
        let f = d.positions(&[fix(false)], true).expect("frame");
        assert!(f.bytes.ends_with(b"&batt=100&valid=false"));
        assert!(d.positions(&[], false).is_err());
        assert!(d.login().expect("ok").is_none() && d.heartbeat().expect("ok").is_none());
    }

    #[test]
    fn status_is_the_ack() {
        let mut d = build(&Identity {
            imei: "350000000000014".into(),
            index: 0,
        })
        .expect("device");
        let f = d.positions(&[fix(true)], false).expect("frame");
        assert_eq!(d.check_reply(&f, b"200 ").expect("ok"), Answer::Acked);
        assert!(matches!(
            d.check_reply(&f, b"503 pipeline busy").expect("ok"),
            Answer::Retry(m) if m.contains("busy")
        ));
        let e = d
            .check_reply(&f, b"400 missing device id")
            .expect_err("refused");
        assert!(e.to_string().contains("HTTP 400: missing device id"), "{e}");
        assert!(matches!(
            d.check_reply(&f, b"OK"),
            Err(SimError::BadReply(_))
        ));
        let mut buf = BytesMut::from(&b"200 "[..]);
        assert_eq!(
            d.cut_reply(&f, &mut buf).expect("ok").as_deref(),
            Some(&b"200 "[..])
        );
        assert_eq!(d.cut_reply(&f, &mut buf).expect("ok"), None);
    }
}
