//! OwnTracks phone app in MQTT mode: each fix is a JSON `_type: location` message published
//! with QoS 1 to `owntracks/<user>/<device>`; the gateway lists it as `<user>.<device>`.
//!
//! The ACK is the broker's PUBACK for that publish (the session loop hands over the PUBACK
//! whose packet id matches the publish it is waiting for). It means the **broker** holds the
//! message for the gateway's persistent subscription — not that the gateway stored it; that
//! is confirmed only through the gateway's API. There is no login (the MQTT CONNECT is the
//! session) and no heartbeat: a parked phone keeps reporting on its slower interval.

use super::Fix;
use super::{Answer, Frame, FrameKind, Identity, SimError, SimProtocol};
use bytes::BytesMut;
use serde::Serialize;

/// The topic's user level for every simulated phone.
pub const USER: &str = "sim";
/// MQTT PUBACK fixed header: packet type 4, flags 0; remaining length 2 (the packet id).
const PUBACK_HEADER: [u8; 2] = [0x40, 0x02];
/// Battery percentage sent with every fix.
const BATTERY: u8 = 100;

pub(super) fn build(id: &Identity) -> Result<Box<dyn SimProtocol>, SimError> {
    Ok(Box::new(OwnTracksDevice {
        device: id.imei.clone(),
        serial: 0,
    }))
}

struct OwnTracksDevice {
    /// The topic's device level (the IMEI keeps it unique in a mixed fleet).
    device: String,
    /// Local message counter; lets the counters tell publishes apart.
    serial: u32,
}

/// The location message, fields in the order the booklet lists them
/// (<https://owntracks.org/booklet/tech/json/>). Units: `tst` Unix s, `vel` km/h (integer),
/// `cog` degrees, `alt` m.
#[derive(Serialize)]
struct Location<'a> {
    #[serde(rename = "_type")]
    typ: &'static str,
    /// Two-character tracker id shown on maps.
    tid: &'a str,
    tst: i64,
    lat: f64,
    lon: f64,
    vel: i64,
    cog: i64,
    alt: i64,
    batt: u8,
    /// `m`: on mobile data.
    conn: &'static str,
    /// `t`: published by the timer while moving.
    t: &'static str,
}

fn payload(device: &str, f: &Fix) -> Result<Vec<u8>, SimError> {
    let tid = device.get(device.len().saturating_sub(2)..).unwrap_or("");
    serde_json::to_vec(&Location {
        typ: "location",
        tid,
        tst: f.time.timestamp(),
        lat: f.lat,
        lon: f.lon,
        vel: f.speed_kmh.max(0.0).round() as i64,
        cog: (f.course.round() as i64).rem_euclid(360),
        alt: f.altitude_m.round() as i64,
        batt: BATTERY,
        conn: "m",
        t: "t",
    })
    .map_err(|e| SimError::Encode(format!("owntracks JSON: {e}")))
}

impl SimProtocol for OwnTracksDevice {
    fn device_id(&self) -> String {
        format!("{USER}.{}", self.device)
    }

    fn login(&mut self) -> Result<Option<Frame>, SimError> {
        Ok(None)
    }

    fn positions(&mut self, fixes: &[Fix], _backlog: bool) -> Result<Frame, SimError> {
        let [f] = fixes else {
            return Err(SimError::Encode(format!(
                "owntracks publishes one location per message, got {}",
                fixes.len()
            )));
        };
        self.serial = self.serial.wrapping_add(1);
        Ok(Frame {
            bytes: payload(&self.device, f)?,
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
        // The MQTT client hands over whole packets; nothing is cut from a stream.
        Ok((!buf.is_empty()).then(|| buf.split().to_vec()))
    }

    fn check_reply(&mut self, _sent: &Frame, reply: &[u8]) -> Result<Answer, SimError> {
        if reply.len() == 4 && reply[..2] == PUBACK_HEADER {
            Ok(Answer::Acked)
        } else {
            Err(SimError::BadReply(format!(
                "owntracks expected a PUBACK packet, got {:02x?}",
                reply
            )))
        }
    }

    fn topic(&self) -> Option<String> {
        Some(format!("owntracks/{USER}/{}", self.device))
    }
}

/// The PUBACK packet for `pkid`, as the session hands it to [`SimProtocol::check_reply`].
pub fn puback(pkid: u16) -> Vec<u8> {
    let [hi, lo] = pkid.to_be_bytes();
    vec![PUBACK_HEADER[0], PUBACK_HEADER[1], hi, lo]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn location_json_topic_and_id_are_exact() {
        let mut d = build(&Identity {
            imei: "350000000000014".into(),
            index: 3,
        })
        .expect("device");
        let f = Fix {
            time: Utc
                .with_ymd_and_hms(2026, 11, 27, 5, 30, 0)
                .single()
                .expect("time")
                + chrono::Duration::milliseconds(999),
            lat: 52.52,
            lon: 13.405,
            speed_kmh: 29.6,
            course: 359.7,
            altitude_m: 34.4,
            satellites: 9,
            hdop: 0.0,
            valid: true,
            ignition: true,
            odometer_m: 0.0,
        };
        let p = d.positions(&[f], false).expect("frame");
        assert_eq!(
            String::from_utf8(p.bytes.clone()).expect("utf-8"),
            r#"{"_type":"location","tid":"14","tst":1795757400,"lat":52.52,"lon":13.405,"vel":30,"cog":0,"alt":34,"batt":100,"conn":"m","t":"t"}"#
        );
        assert_eq!(d.topic().as_deref(), Some("owntracks/sim/350000000000014"));
        // The gateway's id for that topic: `<user>.<device>`.
        assert_eq!(d.device_id(), "sim.350000000000014");
        assert!(d.login().expect("ok").is_none() && d.heartbeat().expect("ok").is_none());
    }

    #[test]
    fn only_a_puback_acks() {
        let mut d = build(&Identity {
            imei: "350000000000014".into(),
            index: 0,
        })
        .expect("device");
        let f = Frame {
            bytes: vec![],
            kind: FrameKind::Positions,
            records: 1,
            serial: 1,
            msg: 0,
        };
        assert_eq!(puback(0x0102), [0x40, 0x02, 0x01, 0x02]);
        assert_eq!(d.check_reply(&f, &puback(7)).expect("ok"), Answer::Acked);
        // PUBREC (QoS 2) and a truncated PUBACK are not ours.
        assert!(d.check_reply(&f, &[0x50, 0x02, 0, 7]).is_err());
        assert!(d.check_reply(&f, &[0x40, 0x02, 0]).is_err());
    }
}
