//! Encoders: the server's answers (handshake, record-count and UDP ACKs, codec 12 commands)
//! and the device's uplink frames (handshake, codec 8/8E/16 packets over TCP and UDP, codec
//! 12/13 replies), used by the simulator and the round-trip tests.

use super::frame::KEEPALIVE;
use super::{Codec, MAX_IMEI_LEN};
use crate::protocol::wire::crc16_arc;

/// Server answer to an admitted IMEI handshake.
pub const HANDSHAKE_ACCEPT: [u8; 1] = [0x01];
/// Server answer to a refused IMEI handshake (the connection is then closed).
pub const HANDSHAKE_REFUSE: [u8; 1] = [0x00];

/// Codec 12 message type of a server command.
pub const TYPE_COMMAND: u8 = 0x05;
/// Codec 12/13 message type of a device response.
pub const TYPE_RESPONSE: u8 = 0x06;

/// An encoder input that cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Codec 12/13 packets are built by their own encoders.
    #[error("{codec:?} does not carry AVL records")]
    NotAvl { codec: Codec },
    /// N1 is one byte.
    #[error("{count} records: a packet holds at most 255")]
    TooManyRecords { count: usize },
    /// Codec 8 and 7 have 1-byte IO ids.
    #[error("io id {id} does not fit the 1-byte ids of {codec:?}")]
    IoIdTooWide { id: u16, codec: Codec },
    /// IO counts are 1 byte (2 in 8E).
    #[error("{count} io elements of one width: {codec:?} allows at most {max}")]
    TooManyIo {
        count: usize,
        codec: Codec,
        max: usize,
    },
    /// NX values exist only in 8E (and 8-byte values not in codec 7).
    #[error("io {id}: {codec:?} has no section for this value width")]
    VariableIo { id: u16, codec: Codec },
    /// NX lengths are u16.
    #[error("variable-length io {id} is {len} bytes, more than 65535")]
    IoTooLong { id: u16, len: usize },
    /// The handshake and UDP header carry 1..=20 ASCII digits.
    #[error("imei {0:?} is not 1..=20 ASCII digits")]
    BadImei(String),
}

/// One IO value, tagged with its wire width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoData {
    /// 1-byte section.
    U8(u8),
    /// 2-byte section.
    U16(u16),
    /// 4-byte section.
    U32(u32),
    /// 8-byte section (not in codec 7).
    U64(u64),
    /// Variable length (codec 8 Extended NX section only).
    Var(Vec<u8>),
}

/// An AVL IO element: id plus value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoElement {
    /// AVL id (model-specific meaning); must fit 1 byte for codecs 8 and 7.
    pub id: u16,
    /// The value; its variant picks the section it is written to.
    pub value: IoData,
}

/// One AVL record in wire units (what a device would send), for the encoders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvlRecord {
    /// Unix milliseconds, UTC.
    pub timestamp_ms: u64,
    /// 0 low, 1 high, 2 panic.
    pub priority: u8,
    /// Degrees × 1e7.
    pub lon_e7: i32,
    /// Degrees × 1e7.
    pub lat_e7: i32,
    /// Metres.
    pub altitude_m: i16,
    /// Degrees.
    pub angle: u16,
    /// 0 marks the fix invalid.
    pub satellites: u8,
    /// km/h.
    pub speed_kmh: u16,
    /// Id of the IO that triggered the record (0 = periodic); 1 byte in codec 8.
    pub event_io: u16,
    /// Codec 16 only: how the record was generated (0 on exit … 7 = on change), else ignored.
    pub generation_type: u8,
    /// IO elements, in any order (they are grouped by width on the wire).
    pub io: Vec<IoElement>,
}

/// The device's first TCP frame: `00 nn` + IMEI digits.
pub fn handshake(imei: &str) -> Result<Vec<u8>, EncodeError> {
    check_imei(imei)?;
    let mut out = Vec::with_capacity(2 + imei.len());
    out.extend_from_slice(&(imei.len() as u16).to_be_bytes());
    out.extend_from_slice(imei.as_bytes());
    Ok(out)
}

/// The TCP keep-alive byte.
pub fn keepalive() -> [u8; 1] {
    [KEEPALIVE]
}

/// Server answer to a handshake: `01` admitted, `00` refused.
pub fn handshake_ack(admitted: bool) -> [u8; 1] {
    if admitted {
        HANDSHAKE_ACCEPT
    } else {
        HANDSHAKE_REFUSE
    }
}

/// Server answer to a TCP AVL packet: the number of records stored, u32 big-endian.
pub fn records_ack(count: u32) -> [u8; 4] {
    count.to_be_bytes()
}

/// Server answer to a UDP datagram: `00 05 | packet id | 01 | AVL packet id | count`.
pub fn udp_ack(packet_id: u16, avl_packet_id: u8, count: u8) -> [u8; 7] {
    let [hi, lo] = packet_id.to_be_bytes();
    [0x00, 0x05, hi, lo, 0x01, avl_packet_id, count]
}

/// `codec | N1 | records | N2`: the part of a packet the CRC covers.
pub fn avl_data(codec: Codec, records: &[AvlRecord]) -> Result<Vec<u8>, EncodeError> {
    if !matches!(codec, Codec::C8 | Codec::C8Ext | Codec::C16) {
        return Err(EncodeError::NotAvl { codec });
    }
    let n = u8::try_from(records.len()).map_err(|_| EncodeError::TooManyRecords {
        count: records.len(),
    })?;
    let mut out = vec![codec.id(), n];
    for rec in records {
        record(&mut out, codec, rec)?;
    }
    out.push(n);
    Ok(out)
}

/// A complete TCP AVL packet: preamble, length, data, CRC-16/ARC.
pub fn tcp_packet(codec: Codec, records: &[AvlRecord]) -> Result<Vec<u8>, EncodeError> {
    Ok(wrap_tcp(&avl_data(codec, records)?))
}

/// A complete UDP datagram (no CRC on UDP).
pub fn udp_datagram(
    packet_id: u16,
    avl_packet_id: u8,
    imei: &str,
    codec: Codec,
    records: &[AvlRecord],
) -> Result<Vec<u8>, EncodeError> {
    check_imei(imei)?;
    let data = avl_data(codec, records)?;
    let mut body = Vec::with_capacity(6 + imei.len() + data.len());
    body.extend_from_slice(&packet_id.to_be_bytes());
    body.push(0x01);
    body.push(avl_packet_id);
    body.extend_from_slice(&(imei.len() as u16).to_be_bytes());
    body.extend_from_slice(imei.as_bytes());
    body.extend_from_slice(&data);
    let mut out = Vec::with_capacity(2 + body.len());
    // A datagram carries at most 255 records of bounded size, far below 64 KiB in practice;
    // saturate rather than wrap so an absurd input is rejected by the decoder, not mis-framed.
    out.extend_from_slice(&u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Server → device codec 12 command (e.g. `getinfo`), a complete TCP packet.
pub fn codec12_command(text: &str) -> Vec<u8> {
    wrap_tcp(&codec12_data(TYPE_COMMAND, text.as_bytes()))
}

/// Server → device codec 12 command with a raw payload (text or vendor bytes).
pub fn codec12_command_bytes(payload: &[u8]) -> Vec<u8> {
    wrap_tcp(&codec12_data(TYPE_COMMAND, payload))
}

/// Device → server codec 12 response, a complete TCP packet.
pub fn codec12_response(payload: &[u8]) -> Vec<u8> {
    wrap_tcp(&codec12_data(TYPE_RESPONSE, payload))
}

/// Device → server codec 13 response with its timestamp (Unix seconds), a TCP packet.
pub fn codec13_response(timestamp_s: u32, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![Codec::C13.id(), 1, TYPE_RESPONSE];
    d.extend_from_slice(&((payload.len() + 4) as u32).to_be_bytes());
    d.extend_from_slice(&timestamp_s.to_be_bytes());
    d.extend_from_slice(payload);
    d.push(1);
    wrap_tcp(&d)
}

fn codec12_data(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![Codec::C12.id(), 1, kind];
    d.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    d.extend_from_slice(payload);
    d.push(1);
    d
}

fn wrap_tcp(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + data.len());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&u32::from(crc16_arc(data)).to_be_bytes());
    out
}

fn check_imei(imei: &str) -> Result<(), EncodeError> {
    if imei.is_empty() || imei.len() > MAX_IMEI_LEN || !imei.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EncodeError::BadImei(imei.to_string()));
    }
    Ok(())
}

fn record(out: &mut Vec<u8>, codec: Codec, r: &AvlRecord) -> Result<(), EncodeError> {
    out.extend_from_slice(&r.timestamp_ms.to_be_bytes());
    out.push(r.priority);
    out.extend_from_slice(&r.lon_e7.to_be_bytes());
    out.extend_from_slice(&r.lat_e7.to_be_bytes());
    out.extend_from_slice(&r.altitude_m.to_be_bytes());
    out.extend_from_slice(&r.angle.to_be_bytes());
    out.push(r.satellites);
    out.extend_from_slice(&r.speed_kmh.to_be_bytes());
    put_id(out, codec, r.event_io)?;
    if codec == Codec::C16 {
        out.push(r.generation_type);
    }
    put_count(out, codec, r.io.len())?;
    let width = |d: &IoData| match d {
        IoData::U8(_) => 1,
        IoData::U16(_) => 2,
        IoData::U32(_) => 4,
        IoData::U64(_) => 8,
        IoData::Var(_) => 0,
    };
    for w in [1, 2, 4, 8] {
        let group: Vec<&IoElement> = r.io.iter().filter(|e| width(&e.value) == w).collect();
        put_count(out, codec, group.len())?;
        for e in group {
            put_id(out, codec, e.id)?;
            match &e.value {
                IoData::U8(v) => out.push(*v),
                IoData::U16(v) => out.extend_from_slice(&v.to_be_bytes()),
                IoData::U32(v) => out.extend_from_slice(&v.to_be_bytes()),
                IoData::U64(v) => out.extend_from_slice(&v.to_be_bytes()),
                IoData::Var(_) => {}
            }
        }
    }
    let var: Vec<(u16, &Vec<u8>)> =
        r.io.iter()
            .filter_map(|e| match &e.value {
                IoData::Var(v) => Some((e.id, v)),
                _ => None,
            })
            .collect();
    if codec == Codec::C8Ext {
        put_count(out, codec, var.len())?;
        for (id, v) in var {
            let len =
                u16::try_from(v.len()).map_err(|_| EncodeError::IoTooLong { id, len: v.len() })?;
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(v);
        }
    } else if let Some((id, _)) = var.first() {
        return Err(EncodeError::VariableIo { id: *id, codec });
    }
    Ok(())
}

fn put_id(out: &mut Vec<u8>, codec: Codec, id: u16) -> Result<(), EncodeError> {
    if codec.wide_ids() {
        out.extend_from_slice(&id.to_be_bytes());
    } else {
        out.push(u8::try_from(id).map_err(|_| EncodeError::IoIdTooWide { id, codec })?);
    }
    Ok(())
}

fn put_count(out: &mut Vec<u8>, codec: Codec, count: usize) -> Result<(), EncodeError> {
    if codec.wide_counts() {
        let n = u16::try_from(count).map_err(|_| EncodeError::TooManyIo {
            count,
            codec,
            max: u16::MAX.into(),
        })?;
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        let n = u8::try_from(count).map_err(|_| EncodeError::TooManyIo {
            count,
            codec,
            max: u8::MAX.into(),
        })?;
        out.push(n);
    }
    Ok(())
}

/// The GPS element of a GH3000 (codec 7) record; all location-mask fields 0..=4 are sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gh3000Fix {
    /// Degrees, sent as IEEE-754 f32 (latitude first in codec 7).
    pub lat: f32,
    /// Degrees, f32.
    pub lon: f32,
    /// Metres.
    pub altitude_m: u16,
    /// Course in 1/256 turns (degrees = value × 360 / 256).
    pub angle: u8,
    /// km/h.
    pub speed_kmh: u8,
    /// 0 marks the fix invalid.
    pub satellites: u8,
}

/// One GH3000 (codec 7) record: time, optional fix, 1/2/4-byte IO elements (1-byte ids).
#[derive(Clone, Debug, PartialEq)]
pub struct Gh3000Record {
    /// Seconds since 2007-01-01T00:00:00Z (30 bits).
    pub seconds_since_2007: u32,
    /// `None`: a status-only record (global mask bit 0 clear).
    pub fix: Option<Gh3000Fix>,
    /// `Var` and `U64` values are not part of codec 7.
    pub io: Vec<IoElement>,
}

/// A complete TCP codec 7 packet (GH3000), with CRC.
pub fn gh3000_packet(records: &[Gh3000Record]) -> Result<Vec<u8>, EncodeError> {
    let codec = Codec::Gh3000;
    let n = u8::try_from(records.len()).map_err(|_| EncodeError::TooManyRecords {
        count: records.len(),
    })?;
    let mut d = vec![codec.id(), n];
    for r in records {
        d.extend_from_slice(&(r.seconds_since_2007 & 0x3fff_ffff).to_be_bytes());
        let width = |v: &IoData| match v {
            IoData::U8(_) => Some(1),
            IoData::U16(_) => Some(2),
            IoData::U32(_) => Some(4),
            IoData::U64(_) | IoData::Var(_) => None,
        };
        let mut global = 0u8;
        if r.fix.is_some() {
            global |= 0x01;
        }
        for e in &r.io {
            match width(&e.value) {
                Some(1) => global |= 0x02,
                Some(2) => global |= 0x04,
                Some(_) => global |= 0x08,
                None => return Err(EncodeError::VariableIo { id: e.id, codec }),
            }
        }
        d.push(global);
        if let Some(f) = r.fix {
            d.push(0x1f);
            d.extend_from_slice(&f.lat.to_bits().to_be_bytes());
            d.extend_from_slice(&f.lon.to_bits().to_be_bytes());
            d.extend_from_slice(&f.altitude_m.to_be_bytes());
            d.extend_from_slice(&[f.angle, f.speed_kmh, f.satellites]);
        }
        for w in [1, 2, 4] {
            let group: Vec<&IoElement> =
                r.io.iter().filter(|e| width(&e.value) == Some(w)).collect();
            if group.is_empty() {
                continue;
            }
            put_count(&mut d, codec, group.len())?;
            for e in group {
                put_id(&mut d, codec, e.id)?;
                match &e.value {
                    IoData::U8(v) => d.push(*v),
                    IoData::U16(v) => d.extend_from_slice(&v.to_be_bytes()),
                    IoData::U32(v) => d.extend_from_slice(&v.to_be_bytes()),
                    IoData::U64(_) | IoData::Var(_) => {}
                }
            }
        }
    }
    d.push(n);
    Ok(wrap_tcp(&d))
}
