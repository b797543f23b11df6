//! Teltonika FMB device. TCP: IMEI handshake (answer `01`), then codec 8 Extended packets
//! whose answer is the 4-byte count of records accepted; a short count means "resend". UDP:
//! no handshake; each datagram carries the IMEI and is answered with
//! `00 05 | packet id | 01 | AVL packet id | count`. Teltonika has no heartbeat message, so a
//! parked device reports a position at the parked period, as FMB "on stop" settings do.

use super::gt06::hex;
use super::Fix;
use super::{Answer, Frame, FrameKind, Identity, SimError, SimProtocol};
use bytes::BytesMut;
use trackgate::protocol::teltonika::encode::{self as enc, AvlRecord, IoData, IoElement};
use trackgate::protocol::teltonika::Codec;

/// Records per packet: the usual FMB backlog flush size (the benchmark's figure too); 25
/// records with our IO set stay far below the 1280-byte packet limit.
const MAX_BATCH: usize = 25;
const MSG_HANDSHAKE: u16 = 1;
const MSG_AVL: u16 = 2;

pub(super) fn build_tcp(id: &Identity) -> Result<Box<dyn SimProtocol>, SimError> {
    Ok(Box::new(TeltonikaDevice {
        imei: id.imei.clone(),
        udp: false,
        packet_id: 0,
        avl_id: 0,
    }))
}

pub(super) fn build_udp(id: &Identity) -> Result<Box<dyn SimProtocol>, SimError> {
    Ok(Box::new(TeltonikaDevice {
        imei: id.imei.clone(),
        udp: true,
        packet_id: 0,
        avl_id: 0,
    }))
}

struct TeltonikaDevice {
    imei: String,
    udp: bool,
    packet_id: u16,
    avl_id: u8,
}

/// A fix in AVL units, with the IO elements an FMB sends by default: ignition (239),
/// movement (240), GSM signal (21), external voltage mV (66), odometer m (16).
pub fn avl_record(f: &Fix) -> AvlRecord {
    let e7 = |deg: f64| (deg * 1e7).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32;
    let moving = f.speed_kmh > 0.5;
    AvlRecord {
        timestamp_ms: u64::try_from(f.time.timestamp_millis()).unwrap_or(0),
        priority: 0,
        lon_e7: e7(f.lon),
        lat_e7: e7(f.lat),
        altitude_m: f.altitude_m.round().clamp(-32768.0, 32767.0) as i16,
        angle: f.course_whole(),
        // Satellites 0 marks the fix invalid on the wire.
        satellites: if f.valid { f.satellites } else { 0 },
        speed_kmh: if f.valid {
            f.speed_kmh_whole(u16::MAX)
        } else {
            0
        },
        event_io: 0,
        generation_type: 0,
        io: vec![
            IoElement {
                id: 239,
                value: IoData::U8(u8::from(f.ignition)),
            },
            IoElement {
                id: 240,
                value: IoData::U8(u8::from(moving)),
            },
            IoElement {
                id: 21,
                value: IoData::U8(4),
            },
            IoElement {
                id: 66,
                value: IoData::U16(if f.ignition { 27_800 } else { 24_900 }),
            },
            IoElement {
                id: 16,
                value: IoData::U32(f.odometer_u32()),
            },
        ],
    }
}

impl SimProtocol for TeltonikaDevice {
    fn device_id(&self) -> String {
        self.imei.clone()
    }

    fn login(&mut self) -> Result<Option<Frame>, SimError> {
        if self.udp {
            return Ok(None);
        }
        let bytes = enc::handshake(&self.imei).map_err(|e| SimError::Encode(e.to_string()))?;
        Ok(Some(Frame {
            bytes,
            kind: FrameKind::Login,
            records: 0,
            serial: 0,
            msg: MSG_HANDSHAKE,
        }))
    }

    fn positions(&mut self, fixes: &[Fix], _backlog: bool) -> Result<Frame, SimError> {
        let records: Vec<AvlRecord> = fixes.iter().map(avl_record).collect();
        let enc_err = |e: enc::EncodeError| SimError::Encode(e.to_string());
        let (bytes, serial) = if self.udp {
            self.packet_id = self.packet_id.wrapping_add(1);
            self.avl_id = self.avl_id.wrapping_add(1);
            let b = enc::udp_datagram(
                self.packet_id,
                self.avl_id,
                &self.imei,
                Codec::C8Ext,
                &records,
            )
            .map_err(enc_err)?;
            (b, u32::from(self.packet_id) << 8 | u32::from(self.avl_id))
        } else {
            (enc::tcp_packet(Codec::C8Ext, &records).map_err(enc_err)?, 0)
        };
        Ok(Frame {
            bytes,
            kind: FrameKind::Positions,
            records: fixes.len(),
            serial,
            msg: MSG_AVL,
        })
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    fn heartbeat(&mut self) -> Result<Option<Frame>, SimError> {
        Ok(None)
    }

    fn cut_reply(&self, sent: &Frame, buf: &mut BytesMut) -> Result<Option<Vec<u8>>, SimError> {
        // A codec 12 command (00000000 | len | 0C …) comes whole from one write of the
        // server; a record count of 0 is those same first 4 bytes alone.
        if sent.msg != MSG_HANDSHAKE && buf.len() >= 9 && buf[..4] == [0, 0, 0, 0] && buf[8] == 0x0C
        {
            let len = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
            let total = len.saturating_add(12);
            if total > 64 * 1024 {
                return Err(SimError::BadReply(format!(
                    "codec 12 packet of {total} bytes"
                )));
            }
            if buf.len() < total {
                return Ok(None);
            }
            return Ok(Some(buf.split_to(total).to_vec()));
        }
        // The TCP answers carry no framing: their size follows from what was sent.
        let n = if sent.msg == MSG_HANDSHAKE { 1 } else { 4 };
        if buf.len() < n {
            return Ok(None);
        }
        Ok(Some(buf.split_to(n).to_vec()))
    }

    /// A codec 12 command (type 0x05) over TCP is answered with a codec 12 response (type
    /// 0x06) `<command>: OK`; the device's real texts differ per command
    /// (`DOUT1:1 Timeout:INFINITY` …) but carry nothing the server matches on.
    fn answer_command(&mut self, server: &[u8]) -> Option<Frame> {
        if self.udp || server.len() < 16 || server[8] != 0x0C || server[10] != 0x05 {
            return None;
        }
        let size = u32::from_be_bytes(server.get(11..15)?.try_into().ok()?) as usize;
        let command = server.get(15..15usize.checked_add(size)?)?;
        let text = format!("{}: OK", String::from_utf8_lossy(command).trim());
        Some(Frame {
            bytes: trackgate::protocol::teltonika::encode::codec12_response(text.as_bytes()),
            kind: FrameKind::Heartbeat,
            records: 0,
            serial: 0,
            msg: 0x0C,
        })
    }

    fn check_reply(&mut self, sent: &Frame, reply: &[u8]) -> Result<Answer, SimError> {
        match (self.udp, sent.msg, reply) {
            (false, MSG_HANDSHAKE, [0x01]) => Ok(Answer::Acked),
            (false, MSG_HANDSHAKE, [0x00]) => {
                Err(SimError::Refused(format!("imei {} refused", self.imei)))
            }
            (false, MSG_AVL, &[a, b, c, d]) => {
                let n = u32::from_be_bytes([a, b, c, d]);
                if n as usize == sent.records {
                    Ok(Answer::Acked)
                } else {
                    Ok(Answer::Retry(format!(
                        "server accepted {n} of {} records",
                        sent.records
                    )))
                }
            }
            (true, MSG_AVL, &[0x00, 0x05, p1, p2, 0x01, avl, n]) => {
                let key = u32::from(u16::from_be_bytes([p1, p2])) << 8 | u32::from(avl);
                if key != sent.serial {
                    Ok(Answer::Unrelated)
                } else if usize::from(n) == sent.records {
                    Ok(Answer::Acked)
                } else {
                    Ok(Answer::Retry(format!(
                        "server accepted {n} of {} records",
                        sent.records
                    )))
                }
            }
            // A server command (cut whole by `cut_reply`): not this frame's ACK.
            (false, _, r) if r.len() >= 12 && r[..4] == [0, 0, 0, 0] && r[8] == 0x0C => {
                Ok(Answer::Unrelated)
            }
            _ => Err(SimError::BadReply(format!(
                "teltonika reply {} to message {}",
                hex(reply),
                sent.msg
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fix() -> Fix {
        Fix {
            time: chrono::Utc
                .with_ymd_and_hms(2026, 11, 27, 6, 0, 0)
                .single()
                .expect("time"),
            lat: 47.3769,
            lon: 8.5417,
            speed_kmh: 72.4,
            course: 359.6,
            altitude_m: 408.0,
            satellites: 9,
            hdop: 0.0,
            valid: true,
            ignition: true,
            odometer_m: 1234.4,
        }
    }

    #[test]
    fn avl_units() {
        let r = avl_record(&fix());
        assert_eq!(
            (r.lat_e7, r.lon_e7, r.speed_kmh, r.angle, r.altitude_m),
            (473_769_000, 85_417_000, 72, 0, 408)
        );
        assert_eq!(r.timestamp_ms, 1_795_759_200_000);
        let invalid = avl_record(&Fix {
            valid: false,
            ..fix()
        });
        assert_eq!((invalid.satellites, invalid.speed_kmh), (0, 0));
    }

    #[test]
    fn tcp_count_ack_and_short_count() {
        let mut d = build_tcp(&Identity {
            imei: "356307042441013".into(),
            index: 0,
        })
        .expect("device");
        let hs = d.login().expect("ok").expect("tcp has a handshake");
        assert_eq!(&hs.bytes[..2], &[0x00, 0x0f]);
        assert_eq!(d.check_reply(&hs, &[1]).expect("ok"), Answer::Acked);
        assert!(d.check_reply(&hs, &[0]).is_err(), "refused");
        let p = d.positions(&[fix(), fix()], true).expect("packet");
        let mut buf = BytesMut::from(&[0u8, 0, 0][..]);
        assert_eq!(d.cut_reply(&p, &mut buf).expect("ok"), None, "need 4 bytes");
        buf.extend_from_slice(&[2]);
        let r = d.cut_reply(&p, &mut buf).expect("ok").expect("4 bytes");
        assert_eq!(d.check_reply(&p, &r).expect("ok"), Answer::Acked);
        assert!(matches!(
            d.check_reply(&p, &[0, 0, 0, 1]).expect("ok"),
            Answer::Retry(_)
        ));
    }

    #[test]
    fn udp_ack_echoes_packet_and_avl_ids() {
        let mut d = build_udp(&Identity {
            imei: "356307042441013".into(),
            index: 0,
        })
        .expect("device");
        assert_eq!(d.login().expect("ok"), None);
        let p = d.positions(&[fix()], false).expect("datagram");
        assert_eq!(
            &p.bytes[2..6],
            &[0x00, 0x01, 0x01, 0x01],
            "packet id 1, avl id 1"
        );
        let ack = enc::udp_ack(1, 1, 1);
        assert_eq!(d.check_reply(&p, &ack).expect("ok"), Answer::Acked);
        let stale = enc::udp_ack(0, 0, 1);
        assert_eq!(d.check_reply(&p, &stale).expect("ok"), Answer::Unrelated);
    }
}
